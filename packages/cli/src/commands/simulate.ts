import { writeFile } from 'node:fs/promises';
import { CascadeError } from '@cascade/common';
import {
  formatReport,
  simulate,
  toCsv,
  toJson,
  type RelayMode,
  type SimModel,
  type SimulationParams,
} from '@cascade/coordinator';
import type { CommandModule } from 'yargs';
import { optionalDuration, parseDurationArg, parseRateArg, parseSizeArg } from '../args.js';

interface Args {
  peers: number;
  'seeder-capacity': number;
  'peer-capacity': number;
  mode: 'classic' | 'relay' | 'both';
  transfer?: string;
  image?: string;
  link?: string;
  'seeder-link'?: string;
  disk?: string;
  slice: string;
  fail: number;
  seed: number;
  every?: string;
  csv?: string;
  json: boolean;
}

export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Simulate a rollout with the live scheduler: machines imaged over time, makespan against S/B',
  builder: (y) =>
    y
      .option('peers', { type: 'number', default: 100, describe: 'machines to image' })
      .option('seeder-capacity', { type: 'number', default: 2, describe: 'clients the seeder serves at once' })
      .option('peer-capacity', { type: 'number', default: 3, describe: 'clients each imaged peer serves at once' })
      .option('mode', {
        choices: ['classic', 'relay', 'both'] as const,
        default: 'classic' as const,
        describe: 'classic, relay (peers serve while downloading), or both side by side',
      })
      .option('transfer', { type: 'string', describe: 'fixed model: every transfer takes this long (default 20m)' })
      .option('image', { type: 'string', describe: 'fluid model: image size (with --link)' })
      .option('link', { type: 'string', describe: "fluid model: every host's link rate, e.g. 1Gbit" })
      .option('seeder-link', { type: 'string', describe: "fluid model: the seeder's link rate (default --link)" })
      .option('disk', { type: 'string', describe: "fluid model: each peer's disk write rate, e.g. 150MB/s" })
      .option('slice', { type: 'string', default: '4MiB', describe: 'slice size (relay streams slice by slice)' })
      .option('fail', { type: 'number', default: 0, describe: 'fraction of peers lost at random moments, 0..1' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the random failures' })
      .option('every', { type: 'string', describe: 'table step, e.g. 20m (default: about ten rows)' })
      .option('csv', { type: 'string', describe: 'also write mode,seconds,imaged rows to this file' })
      .option('json', { type: 'boolean', default: false, describe: 'print everything as JSON' }),
  handler: async (argv) => {
    const params = paramsFrom(argv);
    const everyMs = optionalDuration(argv.every, '--every');
    if (everyMs === 0) throw new CascadeError('ERR_BAD_CONFIG', '--every must be longer than 0');
    const modes: RelayMode[] = argv.mode === 'both' ? ['classic', 'relay'] : [argv.mode];
    const runs = modes.map((mode) => simulate({ ...params, mode }));
    const report = { params, everyMs, chartWidth: Math.max(30, Math.min(72, (process.stdout.columns || 100) - 12)) };
    if (argv.json) process.stdout.write(`${JSON.stringify(toJson(runs, report), null, 2)}\n`);
    else process.stdout.write(formatReport(runs, report));
    if (argv.csv) await writeFile(argv.csv, toCsv(runs));
    const unfinished = runs.filter((r) => !r.complete);
    if (unfinished.length > 0) {
      process.stderr.write(
        `cascade: the ${unfinished.map((r) => r.mode).join(' and ')} run did not image every surviving peer\n`,
      );
      process.exitCode = 1;
    }
  },
};

/** Flags → simulation parameters, every value checked, each error naming its flag. */
export function paramsFrom(argv: Args): Omit<SimulationParams, 'mode'> {
  const whole = (v: number, flag: string, min: number): number => {
    if (!Number.isInteger(v) || v < min)
      throw new CascadeError('ERR_BAD_CONFIG', `${flag} must be a whole number ≥ ${min}, got ${v}`);
    return v;
  };
  if (!(argv.fail >= 0 && argv.fail < 1))
    throw new CascadeError('ERR_BAD_CONFIG', `--fail must be a fraction in [0, 1), got ${argv.fail}`);
  if (!Number.isFinite(argv.seed)) throw new CascadeError('ERR_BAD_CONFIG', `--seed must be a number`);
  const sliceBytes = parseSizeArg(argv.slice, '--slice');
  if (sliceBytes === 0) throw new CascadeError('ERR_BAD_CONFIG', '--slice must be larger than 0');
  return {
    peers: whole(argv.peers, '--peers', 1),
    seederCapacity: whole(argv['seeder-capacity'], '--seeder-capacity', 1),
    peerCapacity: whole(argv['peer-capacity'], '--peer-capacity', 0),
    model: modelFrom(argv),
    sliceBytes,
    fail: argv.fail,
    seed: argv.seed,
  };
}

function modelFrom(argv: Args): SimModel {
  const positive = (v: number, flag: string): number => {
    if (v <= 0) throw new CascadeError('ERR_BAD_CONFIG', `${flag} must be larger than 0`);
    return v;
  };
  const image = argv.image === undefined ? undefined : positive(parseSizeArg(argv.image, '--image'), '--image');
  if (argv.link === undefined) {
    const fluidOnly = (['seeder-link', 'disk'] as const).find((f) => argv[f] !== undefined);
    if (fluidOnly)
      throw new CascadeError('ERR_BAD_CONFIG', `--${fluidOnly} needs the fluid model (--image SIZE --link RATE)`);
    if (image !== undefined && argv.transfer === undefined)
      throw new CascadeError('ERR_BAD_CONFIG', '--image needs --link (or --transfer)');
    const transferMs = positive(parseDurationArg(argv.transfer ?? '20m', '--transfer'), '--transfer');
    return { kind: 'fixed', transferMs, ...(image !== undefined ? { imageBytes: image } : {}) };
  }
  if (argv.transfer !== undefined)
    throw new CascadeError('ERR_BAD_CONFIG', 'choose one model: --transfer, or --image with --link');
  if (image === undefined) throw new CascadeError('ERR_BAD_CONFIG', '--link needs --image');
  const rate = (flag: 'seeder-link' | 'disk'): number | undefined => {
    const v = argv[flag];
    return v === undefined ? undefined : positive(parseRateArg(v, `--${flag}`), `--${flag}`);
  };
  const seederLinkBps = rate('seeder-link');
  const diskBps = rate('disk');
  return {
    kind: 'fluid',
    imageBytes: image,
    linkBps: positive(parseRateArg(argv.link, '--link'), '--link'),
    ...(seederLinkBps !== undefined ? { seederLinkBps } : {}),
    ...(diskBps !== undefined ? { diskBps } : {}),
  };
}
