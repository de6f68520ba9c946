import { writeFile } from 'node:fs/promises';
import { CascadeError } from '@cascade/common';
import type { FluidModel, HostLink, RelayMode, SimModel, SimulationParams } from '@cascade/coordinator';
// The model's constants only (for --help): every `cascade` command loads this module for its options.
import { TCP_ACK_OVERHEAD, TCP_FRAME_OVERHEAD } from '@cascade/coordinator/simulator/model';
import type { CommandModule } from 'yargs';
import { optionalDuration, parseDurationArg, parseRateArg, parseSizeArg } from '../args.js';

interface Args {
  peers: number;
  'seeder-capacity'?: number;
  'peer-capacity': number;
  'relay-capacity': number;
  mode: 'classic' | 'relay' | 'both';
  transfer?: string;
  image?: string;
  wire?: string;
  link?: string;
  'seeder-link'?: string;
  disk?: string;
  slow?: string[];
  start?: string;
  'frame-overhead'?: number;
  'ack-overhead'?: number;
  queue?: 'fair' | 'fifo';
  'store-and-forward': boolean;
  'hop-lag'?: string;
  reroute: boolean;
  slice: string;
  fail: number;
  seed: number;
  every?: string;
  csv?: string;
  json: boolean;
}

/** The fluid model's options (each needs --image and --link). */
const FLUID_OPTIONS = {
  image: { type: 'string', describe: 'fluid model: image size (with --link)' },
  wire: {
    type: 'string',
    describe:
      'fluid model: what the image takes on the wire (used bytes, compressed: `cascade manifest` prints it; default --image)',
  },
  link: { type: 'string', describe: "fluid model: every host's link rate, e.g. 1Gbit" },
  'seeder-link': { type: 'string', describe: "fluid model: the seeder's link rate (default --link)" },
  disk: { type: 'string', describe: "fluid model: each peer's disk write rate, e.g. 150MB/s" },
  slow: {
    type: 'string',
    array: true,
    describe: "fluid model: peer N's own link, N@RATE (both ways) or N@DOWN,UP, e.g. 5@25Mbit; repeatable",
  },
  start: { type: 'string', describe: 'fluid model: seeder launch to first byte (default 0.5s)' },
  'frame-overhead': {
    type: 'number',
    describe: `fluid model: wire bytes per payload byte (default ${TCP_FRAME_OVERHEAD.toFixed(4)}: TCP/IP/Ethernet)`,
  },
  'ack-overhead': {
    type: 'number',
    describe: `fluid model: ACK bytes on the reverse link per payload byte (default ${TCP_ACK_OVERHEAD.toFixed(4)})`,
  },
  queue: {
    choices: ['fair', 'fifo'] as const,
    describe:
      "fluid model: how an uplink's queue shares it: fair (default; per-flow queueing, e.g. fq_codel) or fifo (one tail-drop queue: a transfer that starts while the link is full waits until the earlier ones end)",
  },
} as const;

export const simulateCommand: CommandModule<object, Args> = {
  command: 'simulate',
  describe: 'Simulate a rollout with the live scheduler: machines imaged over time, makespan against S/B',
  builder: (y) =>
    y
      .option('peers', { type: 'number', default: 100, describe: 'machines to image' })
      .option('seeder-capacity', {
        type: 'number',
        describe: 'clients the seeder serves at once (default 2; relay mode 1, as `cascade seed --relay`)',
      })
      .option('peer-capacity', { type: 'number', default: 3, describe: 'clients each imaged peer serves at once' })
      .option('relay-capacity', {
        type: 'number',
        default: 1,
        describe: 'relay mode: clients a peer serves while downloading',
      })
      .option('mode', {
        choices: ['classic', 'relay', 'both'] as const,
        default: 'classic' as const,
        describe: 'classic, relay (peers serve while downloading), or both side by side',
      })
      .option('transfer', { type: 'string', describe: 'fixed model: every transfer takes this long (default 20m)' })
      .options(FLUID_OPTIONS)
      .option('store-and-forward', {
        type: 'boolean',
        default: false,
        describe: 'relay mode: a relay forwards a slice once it holds all of it (default: bytes as they arrive)',
      })
      .option('hop-lag', {
        type: 'string',
        describe: 'relay mode: bytes a cut-through hop lags (default 64KiB + 1 ms)',
      })
      .option('reroute', {
        type: 'boolean',
        default: true,
        describe: 'fluid model: feed transfer rates to the scheduler, which moves clients off slow machines',
      })
      .option('slice', { type: 'string', default: '4MiB', describe: 'slice size (relay streams slice by slice)' })
      .option('fail', { type: 'number', default: 0, describe: 'fraction of peers lost at random moments, 0..1' })
      .option('seed', { type: 'number', default: 1, describe: 'seed of the random failures' })
      .option('every', { type: 'string', describe: 'table step, e.g. 20m (default: about ten rows)' })
      .option('csv', { type: 'string', describe: 'also write mode,seconds,imaged rows to this file' })
      .option('json', { type: 'boolean', default: false, describe: 'print everything as JSON' }),
  handler: async (argv) => {
    const { formatReport, simulate, toCsv, toJson } = await import('@cascade/coordinator');
    const params = paramsFrom(argv);
    const everyMs = optionalDuration(argv.every, '--every');
    if (everyMs === 0) throw new CascadeError('ERR_BAD_CONFIG', '--every must be longer than 0');
    const modes: RelayMode[] = argv.mode === 'both' ? ['classic', 'relay'] : [argv.mode];
    const relaySeeder = argv['seeder-capacity'] ?? 1;
    const runs = modes.map((mode) =>
      simulate({ ...params, mode, ...(mode === 'relay' ? { seederCapacity: relaySeeder } : {}) }),
    );
    const report = {
      params,
      everyMs,
      chartWidth: Math.max(30, Math.min(72, (process.stdout.columns || 100) - 12)),
      ...(modes.includes('relay') ? { relaySeederCapacity: relaySeeder } : {}),
    };
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
  const peers = whole(argv.peers, '--peers', 1);
  if (argv['store-and-forward'] && argv['hop-lag'] !== undefined)
    throw new CascadeError('ERR_BAD_CONFIG', '--hop-lag is the cut-through lag: leave out --store-and-forward');
  const hopLag = argv['hop-lag'] === undefined ? undefined : parseSizeArg(argv['hop-lag'], '--hop-lag');
  return {
    peers,
    seederCapacity: whole(argv['seeder-capacity'] ?? 2, '--seeder-capacity', 1),
    peerCapacity: whole(argv['peer-capacity'], '--peer-capacity', 0),
    relayCapacity: whole(argv['relay-capacity'], '--relay-capacity', 0),
    model: modelFrom(argv, peers),
    sliceBytes,
    ...(argv['store-and-forward'] ? { forward: 'store-and-forward' as const } : {}),
    ...(hopLag !== undefined ? { hopLagBytes: hopLag } : {}),
    ...(argv.reroute ? {} : { rateTickMs: 0 }),
    fail: argv.fail,
    seed: argv.seed,
  };
}

const FLUID_ONLY = ['wire', 'seeder-link', 'disk', 'slow', 'start', 'frame-overhead', 'ack-overhead', 'queue'] as const;

function modelFrom(argv: Args, peers: number): SimModel {
  const positive = (v: number, flag: string): number => {
    if (v <= 0) throw new CascadeError('ERR_BAD_CONFIG', `${flag} must be larger than 0`);
    return v;
  };
  const image = argv.image === undefined ? undefined : positive(parseSizeArg(argv.image, '--image'), '--image');
  if (argv.link === undefined) {
    const fluidOnly = FLUID_ONLY.find((f) => argv[f] !== undefined);
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
  const wire = argv.wire === undefined ? undefined : positive(parseSizeArg(argv.wire, '--wire'), '--wire');
  return {
    kind: 'fluid',
    imageBytes: image,
    ...(wire !== undefined ? { wireBytes: wire } : {}),
    linkBps: positive(parseRateArg(argv.link, '--link'), '--link'),
    ...(seederLinkBps !== undefined ? { seederLinkBps } : {}),
    ...(diskBps !== undefined ? { diskBps } : {}),
    ...linkDetails(argv, peers),
  };
}

/** --slow, --start, --frame-overhead, --ack-overhead. */
function linkDetails(argv: Args, peers: number): Partial<FluidModel> {
  const out: Partial<FluidModel> = {};
  if (argv.slow?.length) out.hosts = argv.slow.map((v) => parseSlowHost(v, peers));
  if (argv.start !== undefined) out.startMs = parseDurationArg(argv.start, '--start');
  if (argv.queue !== undefined) out.queue = argv.queue;
  const fraction = (v: number | undefined, flag: string, min: number, max: number): number | undefined => {
    if (v !== undefined && !(v >= min && v < max))
      throw new CascadeError('ERR_BAD_CONFIG', `${flag} must be in [${min}, ${max}), got ${v}`);
    return v;
  };
  const frame = fraction(argv['frame-overhead'], '--frame-overhead', 1, 2);
  const ack = fraction(argv['ack-overhead'], '--ack-overhead', 0, 1);
  if (frame !== undefined) out.frameOverhead = frame;
  if (ack !== undefined) out.ackOverhead = ack;
  return out;
}

/** `5@25Mbit` (both ways) or `5@25Mbit,100Mbit` (down, up) → peer 5's own link. */
export function parseSlowHost(v: string, peers: number): HostLink {
  const m = /^(\d+)@([^,]+)(?:,(.+))?$/.exec(v.trim());
  const index = m ? Number(m[1]) : NaN;
  if (!m || !(index >= 1 && index <= peers))
    throw new CascadeError('ERR_BAD_CONFIG', `--slow: expected PEER@RATE with PEER in 1..${peers}, got "${v}"`);
  const rate = (r: string): number => {
    const bps = parseRateArg(r, '--slow');
    if (bps <= 0) throw new CascadeError('ERR_BAD_CONFIG', '--slow: a rate must be larger than 0');
    return bps;
  };
  const downBps = rate(m[2] as string);
  return { index, downBps, upBps: m[3] === undefined ? downBps : rate(m[3]) };
}
