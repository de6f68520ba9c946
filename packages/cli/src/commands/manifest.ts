import { DIGEST_ALGORITHMS, formatBytes, wireBytes, zeroMap, type DigestAlgorithm } from '@cascade/common';
import type { CommandModule } from 'yargs';
import { parseSizeArg } from '../args.js';

interface Args {
  image: string;
  json: boolean;
  slice: string;
  digest: DigestAlgorithm;
}

export const manifestCommand: CommandModule<object, Args> = {
  command: 'manifest <image>',
  describe: 'Build (or read from cache) and print the manifest of an image',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'image file or block device' })
      .option('json', { type: 'boolean', default: false, describe: 'print the whole manifest as JSON' })
      .option('slice', { type: 'string', default: '4MiB', describe: 'slice size' })
      .option('digest', { choices: DIGEST_ALGORITHMS, default: 'md5' as const, describe: 'per-slice digest' }),
  handler: async (argv) => {
    // Loaded here, not at the top: every `cascade` command loads this module for its options.
    const { loadOrBuildManifest } = await import('@cascade/seeder');
    const { manifest, cached } = await loadOrBuildManifest(argv.image, {
      sliceSize: parseSizeArg(argv.slice, '--slice'),
      digest: argv.digest,
    });
    if (argv.json) {
      process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
      return;
    }
    const zeros = zeroMap(manifest).cardinality();
    const lines = [
      `image     ${manifest.name}`,
      `imageId   ${manifest.imageId}`,
      `size      ${manifest.size} bytes (${formatBytes(manifest.size)})`,
      `slices    ${manifest.digests.length} × ${formatBytes(manifest.sliceSize)} (${zeros} all-zero, never sent)`,
      `on wire   ${formatBytes(wireBytes(manifest))}`,
      `digest    ${manifest.digest} per slice`,
      `cache     ${cached ? 'reused' : 'built'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
