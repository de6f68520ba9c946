/**
 * Issue 29, finding 6: made-up ids that claim the whole image. Real coordinator and seeder on
 * loopback; the attacker is a bare ws/msgpack client (test/hostile/).
 *
 * Behaviour this test demands: a peer whose `done` rests on its word alone (it announced every
 * slice; the coordinator assigned it no transfer: `--reuse`, or an imaged peer back after a
 * coordinator restart) counts as imaged only while it stays connected. When it leaves it is
 * uncounted and forgotten: not on the roster, the board or the member table.
 *
 * Scaled down from the 5,000 ids to 1,000 (each costs the old coordinator the same, so
 * the growth shows just as plainly and the test stays well under a minute on a loaded machine).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { HostileControl } from './hostile/hostile-control.js';
import { HostileLab } from './hostile/hostile-lab.js';

const IDS = 1000;
const LANES = 10;

async function rssKiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** One made-up id: hello as a peer, `want` with every slice, `done`, close. The done's answer. */
async function fakeImaged(url: string, id: string, local: string, slices: number): Promise<string> {
  const c = await HostileControl.connect(url, local).catch(() => null);
  if (!c) return 'refused-connection';
  try {
    const w = await c.hello({ role: 'peer', id, session: 'lab' });
    if (w?.type !== 'welcome') return `hello-${String(w?.code)}`;
    c.send({ type: 'want', have: slices });
    c.send({ type: 'done', server: 'reused', bytes: 0, ms: 0 });
    const answer = await c.sync();
    return answer?.type === 'error' ? String(answer.code) : 'done';
  } finally {
    c.close();
  }
}

describe('hostile bookkeeping (issue 29: finding 6)', { timeout: 240_000 }, () => {
  test(`#6 ${IDS} made-up ids claim the image, done and close: not counted, /status and memory flat`, async () => {
    const lab = await HostileLab.create('hostile-fake-imaged', { coordinatorHost: '127.0.29.4' });
    lab.seeder();
    await lab.seederId();
    const http = `${lab.url.replace('ws:', 'http:')}/status`;
    const slices = (await lab.status())!.image!.slices;
    const pid = lab.coordinator.proc.pid!;
    const statusBefore = (await (await fetch(http)).text()).length;
    const rssBefore = await rssKiB(pid);
    const tally = new Map<string, number>();
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < IDS; i += LANES) {
          const a = await fakeImaged(lab.url, `fake-${i}`, `127.0.29.${100 + lane}`, slices);
          tally.set(a, (tally.get(a) ?? 0) + 1);
        }
      }),
    );
    // the last closes are handled once the coordinator shows no member of theirs
    const settled = await lab
      .waitFor('the fake ids gone', (s) => s.roster.every((r) => !r.id.startsWith('fake-')), 15_000)
      .catch(() => null);
    const text = await (await fetch(http)).text();
    const rssAfter = await rssKiB(pid);
    const s = (
      JSON.parse(text) as { sessions: Array<{ name: string; imaged: number; summary: { imaged: number } }> }
    ).sessions.find((x) => x.name === 'lab')!;
    process.stdout.write(
      `# fake imaged: answers ${JSON.stringify(Object.fromEntries(tally))}; imaged ${s.imaged} ` +
        `(roster ${s.summary.imaged}); /status ${statusBefore} → ${text.length} B; RSS ${rssBefore} → ${rssAfter} KiB\n`,
    );
    assert.ok(settled, 'made-up ids are still on the roster after they left');
    assert.equal(s.imaged, 0, 'made-up ids count as imaged');
    assert.equal(s.summary.imaged, 0, 'made-up ids are on the roster as imaged');
    assert.ok(text.length < statusBefore + 2048, `/status grew from ${statusBefore} to ${text.length} bytes`);
    assert.ok(rssAfter - rssBefore < 40 * 1024, `coordinator RSS grew by ${rssAfter - rssBefore} KiB`);
    // an honest peer is still imaged and counted (it stays, serving: the lab kills it after)
    lab.peer(1);
    const done = await lab.waitFor('the honest peer imaged', (x) => x.imaged === 1, 60_000);
    assert.equal(done.summary.imaged, 1, 'the honest peer is not on the roster as imaged');
  });
});
