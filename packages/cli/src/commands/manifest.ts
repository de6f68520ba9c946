import {
  DIGEST_ALGORITHMS,
  formatBytes,
  usedMap,
  zeroMap,
  ZSTD_DEFAULT_LEVEL,
  ZSTD_MAX_LEVEL,
  type DigestAlgorithm,
  type Manifest,
} from '@cascade/common';
import type { CommandModule } from 'yargs';
import { sliceSizeArg } from '../args.js';
import { wholeBetween } from '../options/option-table.js';
import { imageSizes, sizeLines, type ImageSizes } from './manifest-sizes.js';

interface Args {
  image: string;
  json: boolean;
  slice?: string;
  relay: boolean;
  digest: DigestAlgorithm;
  'cache-dir'?: string;
  'whole-disk': boolean;
  compress: number;
}

export const manifestCommand: CommandModule<object, Args> = {
  command: 'manifest <image>',
  describe: 'Build (or read from cache) and print the manifest of an image',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'image file or block device' })
      .option('json', { type: 'boolean', default: false, describe: 'print the whole manifest as JSON' })
      .option('slice', { type: 'string', describe: 'slice size (default 4MiB; 1MiB with --relay)' })
      .option('relay', {
        type: 'boolean',
        default: false,
        describe: 'the manifest `cascade seed IMAGE --relay` uses (its 1MiB slices)',
      })
      .option('digest', { choices: DIGEST_ALGORITHMS, default: 'md5' as const, describe: 'per-slice digest' })
      .option('cache-dir', {
        type: 'string',
        describe: 'folder for the manifest cache, as `cascade seed --cache-dir`',
      })
      .option('whole-disk', {
        type: 'boolean',
        default: false,
        describe: 'the manifest `cascade seed --whole-disk` uses (every byte, not only the used blocks)',
      })
      .option('compress', {
        type: 'number',
        default: ZSTD_DEFAULT_LEVEL,
        describe: `zstd level of the compressed cache \`cascade seed --compress\` uses, built here on every core (0: none; 1-${ZSTD_MAX_LEVEL})`,
      })
      .check((a) => {
        wholeBetween(0, ZSTD_MAX_LEVEL)(a.compress); // ERR_BAD_CONFIG, as `cascade seed --compress`
        return true;
      }),
  handler: async (argv) => {
    // Loaded here, not at the top: every `cascade` command loads this module for its options.
    const { loadOrBuildManifest } = await import('@cascade/seeder');
    const { manifest, cached } = await loadOrBuildManifest(argv.image, {
      sliceSize: sliceSizeArg(argv.slice, argv.relay),
      digest: argv.digest,
      wholeDisk: argv['whole-disk'],
      ...(argv['cache-dir'] ? { cacheDir: argv['cache-dir'] } : {}),
    });
    const sizes = await imageSizes(argv.image, manifest, { level: argv.compress, cacheDir: argv['cache-dir'] });
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ ...manifest, sizes }, null, 2)}\n`);
      return;
    }
    const lines = manifestLines(manifest, cached, sizes);
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

/** The manifest as `cascade manifest` prints it. */
function manifestLines(manifest: Manifest, cached: boolean, sizes: ImageSizes): string[] {
  const zeros = zeroMap(manifest).cardinality();
  const used = usedMap(manifest);
  const usedLine = used
    ? `${formatBytes(used.usedBytes)} used by the filesystems (${used.rangeCount} ranges); only these are read and sent`
    : 'every byte (no filesystem map: --whole-disk, or none could be read)';
  return [
    `image     ${manifest.name}`,
    `imageId   ${manifest.imageId}`,
    `size      ${manifest.size} bytes (${formatBytes(manifest.size)})`,
    `slices    ${manifest.digests.length} × ${formatBytes(manifest.sliceSize)} (${zeros} all-zero, never sent)`,
    `used      ${usedLine}`,
    ...sizeLines(sizes),
    `digest    ${manifest.digest} per slice`,
    `cache     ${cached ? 'reused' : 'built'}`,
  ];
}
