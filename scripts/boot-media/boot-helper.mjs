// The steps of the boot script (/init) that need node, bundled into the initramfs as
// /cascade/boot-helper.mjs next to cascade.mjs:
//   params CMDLINE OUT   print the boot script's cascade.* settings as shell assignments (CB_*),
//                        and write OUT: the command line the peer reads, without the boot-only keys
//   find                 print CB_COORDINATOR='ws://…': cascade.coordinator, else UDP discovery
//   clock URL            print the coordinator's clock (its /healthz Date header) as epoch seconds
// Errors: one line on stderr, exit 1.
/* global fetch, AbortSignal */
import { readFileSync, writeFileSync } from 'node:fs';
import { cascadeParams, createLogger, parseDuration, parseKernelCmdline } from '@cascade/common';
import { discoverCoordinator } from '@cascade/peer';

/** Settings only the boot script reads; the peer gets the command line without them. */
const BOOT_ONLY = ['target', 'on-complete', 'retry', 'settle'];
const SHOWN = [...BOOT_ONLY, 'coordinator', 'session', 'discovery-port', 'discovery-timeout'];

const quote = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
const shellName = (k) => `CB_${k.toUpperCase().replace(/-/g, '_')}`;

function params(cmdlineFile, outFile) {
  const text = readFileSync(cmdlineFile, 'utf8');
  const words = parseKernelCmdline(text);
  const cascade = cascadeParams(words);
  for (const k of SHOWN) process.stdout.write(`${shellName(k)}=${quote(cascade.get(k) ?? '')}\n`);
  const kept = words.filter((w) => !BOOT_ONLY.some((k) => w.key === `cascade.${k}`));
  const line = kept.map((w) => (w.value === null ? w.key : `${w.key}="${w.value.replace(/"/g, '')}"`)).join(' ');
  writeFileSync(outFile, `${line}\n`);
}

async function find() {
  const cascade = cascadeParams(parseKernelCmdline(readFileSync('/proc/cmdline', 'utf8')));
  const given = cascade.get('coordinator');
  if (given) return process.stdout.write(`CB_COORDINATOR=${quote(given)}\n`);
  const logger = createLogger({ level: 'info', format: 'pretty' });
  const found = await discoverCoordinator({
    logger,
    port: Number(cascade.get('discovery-port') ?? 7771),
    timeoutMs: parseDuration(cascade.get('discovery-timeout') ?? '10m'),
  });
  process.stdout.write(`CB_COORDINATOR=${quote(found.url)}\n`);
}

async function clock(url) {
  const u = new URL(url);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/healthz';
  const sent = Date.now();
  const res = await fetch(u, { signal: AbortSignal.timeout(10_000) });
  const date = res.headers.get('date');
  const at = date ? Date.parse(date) : NaN;
  if (!Number.isFinite(at)) throw new Error(`${u} sent no usable Date header`);
  // The header has whole seconds; add half the round trip.
  process.stdout.write(`${Math.round((at + (Date.now() - sent) / 2) / 1000)}\n`);
}

const [cmd, a, b] = process.argv.slice(2);
try {
  if (cmd === 'params' && a && b) params(a, b);
  else if (cmd === 'find') await find();
  else if (cmd === 'clock' && a) await clock(a);
  else throw new Error('usage: boot-helper.mjs params CMDLINE OUT | find | clock URL');
} catch (err) {
  process.stderr.write(`boot-helper: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
