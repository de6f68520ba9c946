// Preloaded into every process the e2e tests start (NODE_OPTIONS=--import <this file>): appends
// each uncaught exception and unhandled rejection, with its stack, to the file named by
// E2E_CRASH_LOG. It observes only: a process that would have died still dies, and one whose
// own handler (the `cascade` bin's last-resort handler) takes over still does.
import { appendFileSync } from 'node:fs';

const file = process.env.E2E_CRASH_LOG;
const recorded = new WeakSet();

function record(kind, err) {
  if (!file) return;
  if (err !== null && typeof err === 'object') {
    if (recorded.has(err)) return;
    recorded.add(err);
  }
  const detail = err instanceof Error ? (err.stack ?? String(err)) : String(err);
  const line = { kind, pid: process.pid, argv: process.argv.slice(1).join(' '), detail };
  try {
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  } catch {
    // the guard must never be the cause of a crash
  }
}

process.on('uncaughtExceptionMonitor', (err, origin) => record(origin, err));
process.on('unhandledRejection', (reason) => {
  record('unhandledRejection', reason);
  // Alone, this listener would keep the process alive (Node only throws on an unhandled
  // rejection when nobody listens): rethrow so the default behaviour is unchanged.
  if (process.listenerCount('unhandledRejection') === 1) throw reason;
});
