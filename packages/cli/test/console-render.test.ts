import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration } from '@cascade/common';
import type { SessionStatus, StatusSnapshot } from '@cascade/coordinator';
import { gatingText } from '../src/console/gating.js';
import { layoutSections } from '../src/console/layout.js';
import { bytesLine, renderConsole, sessionEta } from '../src/console/render.js';
import { bar, clean, etaText, sparkline } from '../src/console/text.js';

const NOW = 1_700_000_000_000;
const MiB = 1024 * 1024;

/** A busy session: `waiting` clients queued, `transfers` running, `servers` serving, 3 imaged. */
function session(
  over: Partial<SessionStatus> = {},
  counts = { waiting: 30, transfers: 12, servers: 9 },
): SessionStatus {
  return {
    name: 'lab',
    state: 'running',
    image: { name: 'ubuntu.img', imageId: 'f'.repeat(32), size: 256 * MiB, slices: 64 },
    options: { endCount: 20 },
    openedAt: NOW - 120_000,
    startedAt: NOW - 100_000,
    endedAt: null,
    endReason: null,
    imaged: 3,
    expected: 20,
    waiting: Array.from({ length: counts.waiting }, (_, i) => ({
      position: i,
      id: `w${i}`,
      name: `pc-w${i}`,
      ip: `10.0.1.${i + 1}`,
      mac: null,
      since: NOW - 60_000 + i * 1000,
    })),
    servers: Array.from({ length: counts.servers }, (_, i) => ({
      id: `s${i}`,
      name: i === 0 ? 'seeder@files' : `pc-s${i}`,
      host: `10.0.0.${i + 1}:7771`,
      ip: `10.0.0.${i + 1}`,
      capacity: i === 0 ? 2 : 3,
      active: 1,
      served: i,
      bytesServed: i * 256 * MiB,
      relay: i % 2 === 1,
      quarantined: false,
      unreachable: false,
    })),
    transfers: Array.from({ length: counts.transfers }, (_, i) => ({
      client: `t${i}`,
      clientName: `pc-t${i}`,
      clientIp: `10.0.2.${i + 1}`,
      server: 's0',
      serverName: 'seeder@files',
      since: NOW - 30_000,
      slices: 16 + i,
      bytes: (16 + i) * 4 * MiB,
      rate: 10e6,
    })),
    progression: [
      { at: NOW - 80_000, imaged: 1 },
      { at: NOW - 40_000, imaged: 2 },
      { at: NOW - 10_000, imaged: 3 },
    ],
    tree: [
      { client: 'pc-s1', server: 'seeder@files', ip: '10.0.0.2', mac: 'aa:bb:cc:00:00:02' },
      { client: 'pc-s2', server: 'seeder@files', ip: '10.0.0.3', mac: null },
      { client: 'pc-s3', server: 'pc-s1', ip: '10.0.0.4', mac: null },
    ],
    roster: [],
    summary: { imaged: 3, failed: 0, waiting: counts.waiting + counts.transfers, expected: 20 },
    completeSources: 1,
    noSource: false,
    ...over,
  };
}

function snapshot(sessions: SessionStatus[] = [session()]): StatusSnapshot {
  return {
    now: NOW,
    sessions,
    warnings: [
      { at: NOW - 5000, event: 'server-lost', detail: 'pc-s7 disconnected' },
      { at: NOW - 2000, event: 'ERR_SLICE_DIGEST_MISMATCH', detail: 'pc-t1 from pc-s4: bad slice 7' },
    ],
  };
}

function assertFits(lines: string[], columns: number, rows: number): void {
  assert.ok(lines.length <= rows, `${lines.length} lines for ${rows} rows`);
  for (const l of lines) assert.ok(l.length <= columns, `line longer than ${columns}: ${JSON.stringify(l)}`);
}

describe('renderConsole', () => {
  test('fits an 80×24 terminal and still shows every part, cutting long lists with "… N more"', () => {
    const lines = renderConsole(snapshot(), { columns: 80, rows: 23 }, { tree: false, keys: true });
    assertFits(lines, 80, 23);
    const text = lines.join('\n');
    for (const part of ['SERVER QUEUE 9', 'CLIENT QUEUE 30', 'TRANSFERS 12', 'WARNINGS', 'imaged 3 of 20', 'q: quit'])
      assert.ok(text.includes(part), `missing ${part}:\n${text}`);
    assert.match(text, /seeder@files → pc-t0 +\[█+░+\] +25% +10\.0 MB\/s +ETA /);
    assert.match(text, /#1 +pc-w0 \(10\.0\.1\.1\) +1m00s/);
    assert.match(text, /10\.0\.0\.2:7771 +2\/3 +1 +256\.0 MiB relay/);
    assert.match(text, /… \d+ more/);
    assert.doesNotMatch(text, /SERVED BY/);
  });

  test('a bigger terminal shows more of each list and wider bars', () => {
    const small = renderConsole(snapshot(), { columns: 80, rows: 23 }, { tree: false });
    const big = renderConsole(snapshot(), { columns: 160, rows: 49 }, { tree: false });
    assertFits(big, 160, 49);
    const count = (ls: string[], re: RegExp): number => ls.filter((l) => re.test(l)).length;
    assert.ok(count(big, /pc-w\d/) > count(small, /pc-w\d/));
    assert.ok(count(big, /→ pc-t\d/) > count(small, /→ pc-t\d/));
    const barLen = (ls: string[]): number => /\[[█░]+\]/.exec(ls.join('\n'))![0].length;
    assert.ok(barLen(big) > barLen(small));
  });

  test('t shows the who-served-whom tree', () => {
    const lines = renderConsole(snapshot(), { columns: 100, rows: 60 }, { tree: true });
    const text = lines.join('\n');
    assert.match(
      text,
      /SERVED BY \(tree, 3 imaged\)\n {2}seeder@files\n {2}├─ pc-s1 \(10\.0\.0\.2 · aa:bb:cc:00:00:02\)\n {2}│ {2}└─ pc-s3 \(10\.0\.0\.4\)\n {2}└─ pc-s2 \(10\.0\.0\.3\)/,
    );
  });

  test('a plain snapshot (unlimited rows) lists everything', () => {
    const lines = renderConsole(snapshot(), { columns: 100, rows: Infinity }, { tree: false });
    assert.equal(lines.filter((l) => /^ +#\d+ +pc-w/.test(l)).length, 30);
    assert.equal(lines.filter((l) => l.includes('→ pc-t')).length, 12);
    assert.doesNotMatch(lines.join('\n'), /more/);
  });

  test('names from the network cannot inject escape sequences', () => {
    const evil = session({}, { waiting: 1, transfers: 0, servers: 1 });
    evil.waiting[0]!.name = 'pc\u001b[2J\u001b]0;pwned\u0007';
    const text = renderConsole(snapshot([evil]), { columns: 80, rows: 23 }, { tree: false }).join('\n');
    const controls = [...text].filter((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f')));
    assert.deepEqual(controls, []);
    assert.match(text, /pc\?\[2J\?]0;pwned\?/);
  });

  test('several sessions share the screen and every session gets its summary', () => {
    const a = session({ name: 'lab-a' });
    const b = session({ name: 'lab-b', state: 'waiting', startedAt: null, options: { startCount: 40 } });
    const lines = renderConsole(snapshot([a, b]), { columns: 80, rows: 23 }, { tree: false });
    assertFits(lines, 80, 23);
    assert.ok(lines.some((l) => l.startsWith('SESSION lab-a · RUNNING')));
    assert.ok(lines.some((l) => l.startsWith('SESSION lab-b · WAITING')));
  });

  test('the roster: its summary line, failures listed with address, code and reason, left and lost counted', () => {
    const machine = (
      name: string,
      outcome: SessionStatus['roster'][number]['outcome'],
      code: string | null = null,
    ) => ({
      ...{ id: name, name, ip: `10.0.3.${name.length}`, mac: 'aa:bb:cc:dd:ee:0f', outcome, code },
      ...{ reason: code ? 'target /dev/sdz: ENOENT' : null, joinedAt: NOW, imagedAt: null, source: null },
    });
    const roster = [
      machine('lab-a', 'imaged'),
      machine('lab-bb', 'failed', 'ERR_TARGET_UNUSABLE'),
      machine('lab-ccc', 'left'),
      machine('lab-dddd', 'lost'),
    ];
    const s = session({ roster, summary: { imaged: 38, failed: 1, waiting: 1, expected: 40 } });
    const text = renderConsole(snapshot([s]), { columns: 120, rows: Infinity }, { tree: false }).join('\n');
    assert.match(text, /^ {2}imaged 38 · failed 1 · waiting 1 of 40 expected · left 1 · lost 1$/m);
    assert.match(
      text,
      /^FAILED 1\n {2}lab-bb \(10\.0\.3\.6 · aa:bb:cc:dd:ee:0f\) {2}ERR_TARGET_UNUSABLE\n {6}target \/dev\/sdz: ENOENT$/m,
    );
    const none = renderConsole(snapshot(), { columns: 120, rows: Infinity }, { tree: false }).join('\n');
    assert.doesNotMatch(none, /FAILED/, 'no failures, no section');
  });

  test('a session without a complete source says so loudly; an unreachable server is marked', () => {
    const s = session({ noSource: true, completeSources: 0 }, { waiting: 2, transfers: 0, servers: 2 });
    s.servers[1]!.unreachable = true;
    const text = renderConsole(snapshot([s]), { columns: 100, rows: 23 }, { tree: false }).join('\n');
    assert.match(text, /!! NO COMPLETE SOURCE \(ERR_NO_SOURCE\)/);
    assert.match(text, /pc-s1 +10\.0\.0\.2:7771 +2\/3 +1 +256\.0 MiB UNRCH/);
  });

  test('peers waiting for a session nobody opened are listed under it', () => {
    const s = session(
      { state: 'unopened', image: null, options: {}, openedAt: null, startedAt: null, expected: null },
      { waiting: 1, transfers: 0, servers: 0 },
    );
    const text = renderConsole(snapshot([s]), { columns: 100, rows: 23 }, { tree: false }).join('\n');
    assert.match(text, /SESSION lab · UNOPENED · no image yet/);
    assert.match(text, /unopened: 1 machine\(s\) wait for a seeder to open it/);
    assert.match(text, /#1 +pc-w0 \(10\.0\.1\.1\)/);
  });

  test('the sizes line: image, used, the wire estimate, and what came over the wire with its ratio', () => {
    const bytes = {
      image: 1024 * MiB,
      used: 410 * MiB,
      wireEstimate: 101 * MiB,
      wire: 202 * MiB,
      payload: 820 * MiB,
      ratio: 4.059,
    };
    const lines = renderConsole(snapshot([session({ bytes })]), { columns: 120, rows: Infinity }, { tree: false });
    const line = lines.find((l) => l.includes('used 410'));
    assert.equal(
      line,
      '  image 1.0 GiB · used 410.0 MiB · wire ≈ 101.0 MiB · received 820.0 MiB in 202.0 MiB on the wire (4.06×)',
    );
    const fresh = { ...bytes, wireEstimate: null, wire: 0, payload: 0, ratio: null };
    assert.equal(bytesLine(fresh), 'image 1.0 GiB · used 410.0 MiB');
    assert.ok(
      !renderConsole(snapshot(), { columns: 120, rows: Infinity }, { tree: false }).some((l) => l.includes('used ')),
    );
  });

  test('no sessions', () => {
    const lines = renderConsole({ now: NOW, sessions: [], warnings: [] }, { columns: 80, rows: 23 }, { tree: false });
    assert.equal(lines[1], 'no sessions');
  });
});

describe('gatingText', () => {
  const base = session({ state: 'waiting', startedAt: null }, { waiting: 2, transfers: 0, servers: 1 });
  test('waiting for a count, a time, or an operator', () => {
    assert.match(gatingText({ ...base, options: { startCount: 5 } }, NOW), /^waiting for 5 clients \(2 waiting\)$/);
    const timed = gatingText({ ...base, options: { startAfterMs: 180_000 } }, NOW);
    assert.match(timed, /^waiting until \d\d:\d\d:\d\d \(in 1m00s\)$/);
    assert.equal(
      gatingText({ ...base, options: { startManual: true } }, NOW),
      'waiting for an operator: cascade start lab',
    );
    assert.match(
      gatingText({ ...base, options: { startCount: 5, startAfterMs: 180_000 } }, NOW),
      /clients .* or until/,
    );
  });
  test('running: how it ends; ended: why', () => {
    const running = gatingText(
      { ...base, state: 'running', startedAt: NOW - 5000, options: { endCount: 9, lingerMs: 30_000 } },
      NOW,
    );
    assert.equal(running, 'running for 5.0s; ends at 9 imaged, or after 30.0s with nobody waiting, or by an operator');
    assert.match(
      gatingText({ ...base, state: 'ended', endReason: 'end-count', endedAt: NOW }, NOW),
      /^ended \(end-count\) at /,
    );
  });
});

describe('console building blocks', () => {
  test('layoutSections keeps every title and shares rows in turn', () => {
    const s = (title: string, n: number): { title: string; rows: string[] } => ({
      title,
      rows: Array.from({ length: n }, (_, i) => `${title}${i}`),
    });
    const lines = layoutSections([s('A', 10), s('B', 1), s('C', 10)], 9);
    assert.deepEqual(lines, ['A', 'A0', 'A1', '  … 8 more', 'B', 'B0', 'C', 'C0', '  … 9 more'].slice(0, 9));
    assert.deepEqual(layoutSections([s('A', 3), s('B', 3)], 1), ['A']);
    assert.deepEqual(layoutSections([s('A', 1)], 10), ['A', 'A0']);
  });

  test('bar, sparkline and clean', () => {
    assert.equal(bar(0.5, 12), '[█████░░░░░]');
    assert.equal(bar(2, 4), '[██]');
    assert.equal(bar(Number.NaN, 4), '[░░]');
    const pts = [
      { at: 10, imaged: 1 },
      { at: 20, imaged: 4 },
    ];
    assert.equal(sparkline(pts, 0, 40, 4, 4), '▃███');
    assert.equal(sparkline(pts, 0, 80, 8, 8), '▂▅▅▅▅▅▅▅');
    assert.equal(clean('a\u001bb\u009bc'), 'a?b?c');
  });

  test('sessionEta: the missing bytes at the aggregate rate, or null when nothing moves', () => {
    const s = session({}, { waiting: 0, transfers: 1, servers: 1 });
    // end count 20, 3 imaged: 17 machines of 256 MiB, 64 MiB already in flight, at 10 MB/s
    assert.equal(sessionEta(s, 10e6), ((17 * 256 - 64) * MiB * 1000) / 10e6);
    assert.equal(sessionEta(s, 0), null);
    assert.equal(sessionEta({ ...s, state: 'waiting' }, 10e6), null);
  });

  test('no ETA when the rate is 0, unknown, or shows as 0.0 MB/s (never 1703h33m53s)', () => {
    assert.equal(etaText(16 * MiB, 0), '—');
    assert.equal(etaText(16 * MiB, NaN), '—');
    assert.equal(etaText(50 * MiB, 8), '—');
    assert.equal(etaText(10e6, 1e6), formatDuration(10_000));
    const s = session({}, { waiting: 0, transfers: 2, servers: 1 });
    const stalled = { ...s, transfers: s.transfers.map((t) => ({ ...t, rate: 3 })) };
    const text = renderConsole(
      { now: NOW, sessions: [stalled], warnings: [] },
      { columns: 120, rows: 40 },
      { tree: false },
    ).join('\n');
    assert.match(text, /rate 0\.0 MB\/s · ETA — ·/);
    assert.match(text, /0\.0 MB\/s +ETA —/);
    assert.doesNotMatch(text, /\d+h\d+m/);
  });
});
