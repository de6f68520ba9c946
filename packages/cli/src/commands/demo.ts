import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes } from '@cascade/common';
import type { CommandModule } from 'yargs';
import { parseSizeArg } from '../args.js';

interface Args {
  peers: number;
  size: string;
  rate?: string;
  'seeder-capacity': number;
  capacity: number;
  keep: boolean;
  json: boolean;
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Image N machines on this host: coordinator, seeder and peers as processes on 127.0.x.y',
  builder: (y) =>
    y
      .option('peers', { type: 'number', default: 12, describe: 'peers to image' })
      .option('size', { type: 'string', default: '256MiB', describe: 'image size' })
      .option('rate', { type: 'string', describe: 'uplink cap per server, e.g. 50MB/s' })
      .option('seeder-capacity', { type: 'number', default: 2 })
      .option('capacity', { type: 'number', default: 3, describe: 'peer capacity' })
      .option('keep', { type: 'boolean', default: false, describe: 'keep the work folder (images, logs)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (argv) => {
    // Loaded here, not at the top: every `cascade` command loads this module for its options.
    const [{ writeImage }, { runLab }, { renderSummary }] = await Promise.all([
      import('../demo/fixtures.js'),
      import('../demo/run-lab.js'),
      import('../demo/summary.js'),
    ]);
    const size = parseSizeArg(argv.size, '--size');
    const workdir = await mkdtemp(join(tmpdir(), 'cascade-demo-'));
    const image = join(workdir, 'master.img');
    process.stderr.write(`cascade demo: writing a ${formatBytes(size)} image in ${workdir}\n`);
    await writeImage(image, { size });
    process.stderr.write(`cascade demo: starting a coordinator, a seeder and ${argv.peers} peers\n`);
    const result = await runLab({
      workdir,
      image,
      imageSize: size,
      peers: argv.peers,
      seederCapacity: argv['seeder-capacity'],
      peerCapacity: argv.capacity,
      ...(argv.rate ? { rate: argv.rate } : {}),
    });
    const header = `cascade demo: ${argv.peers} peers, ${formatBytes(size)} image, seeder capacity ${argv['seeder-capacity']}, peer capacity ${argv.capacity}${argv.rate ? `, ${argv.rate} per server` : ''}`;
    process.stdout.write(argv.json ? `${JSON.stringify(result, null, 2)}\n` : renderSummary(result, header));
    if (!argv.keep && result.ok) await rm(workdir, { recursive: true, force: true });
    else process.stderr.write(`cascade demo: work folder kept at ${workdir}\n`);
    process.exitCode = result.ok ? 0 : 1;
  },
};
