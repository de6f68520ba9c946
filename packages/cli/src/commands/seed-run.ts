import { writeFile } from 'node:fs/promises';
import { loadSigningKey, parseFaultSpec, type Logger } from '@cascade/common';
import { Seeder, type SeederResult } from '@cascade/seeder';
import { parseListen, parseRateArg, sliceSizeArg } from '../args.js';
import { loggerFrom, onStopSignal } from '../common-options.js';
import { clientSecurityFrom } from '../security-options.js';
import { ProgressDisplay } from '../progress-display.js';
import { defaultSessionName, hostOf } from '../peer-boot.js';
import { sessionOptionsFrom, type SeedArgs as Args } from './seed.js';
import { fetchStatus } from './status.js';

/** The seeder from the parsed arguments; `session` is resolved (the peers' subnet default when not given). */
async function seederFrom(argv: Args, session: string, logger: Logger, progress: ProgressDisplay): Promise<Seeder> {
  const security = await clientSecurityFrom(argv);
  const signKey = argv['sign-key'] ? await loadSigningKey(argv['sign-key']) : undefined;
  return new Seeder({
    logger,
    ...security,
    digest: argv.digest,
    signKey,
    image: argv.image,
    coordinator: argv.coordinator,
    session,
    ...(argv.capacity !== undefined ? { capacity: argv.capacity } : {}),
    verifyReads: argv['verify-reads'],
    wholeDisk: argv['whole-disk'],
    compressLevel: argv.compress,
    ...(argv['hash-workers'] !== undefined ? { hashWorkers: argv['hash-workers'] } : {}),
    listen: parseListen(argv.listen),
    sessionOptions: sessionOptionsFrom(argv),
    sliceSize: sliceSizeArg(argv.slice, argv.relay),
    ...(argv.advertise ? { advertise: argv.advertise } : {}),
    ...(argv.rate ? { rate: parseRateArg(argv.rate, '--rate') } : {}),
    ...(argv.name ? { name: argv.name } : {}),
    ...(argv['cache-dir'] ? { cacheDir: argv['cache-dir'] } : {}),
    ...(argv.fault ? { fault: parseFaultSpec(argv.fault) } : {}),
    onManifestProgress: (done, total) => {
      progress.update({ phase: 'manifest', done, total });
      if (done === total) progress.stop();
    },
  });
}

/**
 * `--end-report FILE`: the ended session as the coordinator reports it (name, state, endReason,
 * summary, roster) — sent with session-ended, else asked for once. Never throws: a report that
 * cannot be had is logged.
 */
async function writeEndReport(argv: Args, session: string, r: SeederResult, logger: Logger): Promise<void> {
  const file = argv['end-report'];
  if (!file) return;
  try {
    let report = r.report;
    if (report === undefined) {
      const snap = await fetchStatus(argv.coordinator, session, await clientSecurityFrom(argv));
      report = snap.sessions.find((s) => s.name === session) ?? { name: session, endReason: r.reason };
    }
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    logger.info({ file }, 'end report written');
  } catch (err) {
    logger.warn({ err, file }, 'could not write the end report');
  }
}

/** `cascade seed`: open the session, serve the image until the session ends. */
export async function runSeed(argv: Args): Promise<void> {
  const session = argv.session ?? defaultSessionName(hostOf(argv.coordinator));
  const progress = await ProgressDisplay.open();
  const logger = await loggerFrom(argv, { role: 'seeder', session }, progress.logStream);
  progress.attach(logger);
  const seeder = await seederFrom(argv, session, logger, progress);
  onStopSignal((signal) => {
    // Graceful: the coordinator hears 'seeder stopped' (the session ends); run() then resolves.
    logger.info({ signal }, 'stopping');
    setTimeout(() => process.exit(1), 15_000).unref();
    seeder.stop().catch((err: unknown) => logger.error({ err }, 'stop failed'));
  });
  const r = await seeder.run();
  process.stdout.write(`session ${session} ended (${r.reason}); served ${r.bytesServed} bytes\n`);
  await writeEndReport(argv, session, r, logger);
  process.exit(0);
}
