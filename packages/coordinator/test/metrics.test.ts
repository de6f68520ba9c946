import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoordinatorMetrics, MACHINE_SERIES_LIMIT } from '../src/status/metrics.js';
import type { SessionStatus, StatusSnapshot } from '../src/status/status.js';

type Roster = SessionStatus['roster'];
const machine = (i: number, outcome: Roster[number]['outcome']): Roster[number] => ({
  ...{ id: `m${i}`, name: `lab-10.0.0.${i}`, ip: `10.0.0.${i}`, mac: null, outcome, code: null, reason: null },
  ...{ joinedAt: 0, imagedAt: null, source: null },
});

function snapshot(roster: Roster = [machine(1, 'imaged'), machine(2, 'failed')]): StatusSnapshot {
  const lab: SessionStatus = {
    name: 'lab',
    state: 'running',
    image: null,
    options: {},
    openedAt: 0,
    startedAt: 0,
    endedAt: null,
    endReason: null,
    expected: null,
    progression: [],
    tree: [],
    roster,
    summary: { imaged: 1, failed: 1, waiting: 0, expected: null },
    completeSources: 0,
    noSource: true,
    imaged: 4,
    waiting: [{ position: 0, id: 'a', name: 'a', ip: '10.0.0.1', mac: null, since: 0 }],
    servers: [
      {
        id: 's',
        name: 's',
        host: null,
        capacity: 2,
        active: 2,
        served: 3,
        bytesServed: 0,
        relay: false,
        quarantined: false,
        unreachable: false,
        ip: null,
      },
      {
        id: 'p',
        name: 'p',
        host: null,
        capacity: 3,
        active: 1,
        served: 1,
        bytesServed: 0,
        relay: false,
        quarantined: false,
        unreachable: false,
        ip: null,
      },
    ],
    transfers: [
      {
        client: 'c',
        clientName: 'c',
        clientIp: null,
        server: 's',
        serverName: 's',
        since: 0,
        slices: 1,
        bytes: 1,
        rate: 1000,
      },
      {
        client: 'd',
        clientName: 'd',
        clientIp: null,
        server: 's',
        serverName: 's',
        since: 0,
        slices: 1,
        bytes: 1,
        rate: 500,
      },
      {
        client: 'e',
        clientName: 'e',
        clientIp: null,
        server: 'p',
        serverName: 'p',
        since: 0,
        slices: 1,
        bytes: 1,
        rate: 250,
      },
    ],
  };
  return { now: 0, sessions: [lab], warnings: [] };
}

describe('CoordinatorMetrics', () => {
  test('per session: image, used and estimated wire bytes, the ratio, and wire and payload counters', async () => {
    const snap = snapshot();
    const bytes = { image: 1024, used: 512, wireEstimate: 128, wire: 100, payload: 400, ratio: 4 };
    snap.sessions[0] = { ...snap.sessions[0]!, bytes };
    const m = new CoordinatorMetrics(() => snap, { processMetrics: false });
    m.trafficked('lab', { wire: 100, payload: 400 });
    m.trafficked('lab', { wire: 0, payload: 0 });
    const lines = (await m.text()).split('\n');
    for (const line of [
      'cascade_session_image_bytes{session="lab"} 1024',
      'cascade_session_used_bytes{session="lab"} 512',
      'cascade_session_wire_estimate_bytes{session="lab"} 128',
      'cascade_session_compression_ratio{session="lab"} 4',
      'cascade_session_wire_bytes_total{session="lab"} 100',
      'cascade_session_payload_bytes_total{session="lab"} 400',
    ])
      assert.ok(lines.includes(line), `missing: ${line}`);
  });

  test('a session without an image has no size series', async () => {
    const m = new CoordinatorMetrics(() => snapshot(), { processMetrics: false });
    assert.doesNotMatch(await m.text(), /cascade_session_image_bytes\{/);
  });

  test('gauges come from the status snapshot, counters from events', async () => {
    let scrapes = 0;
    const m = new CoordinatorMetrics(
      () => {
        scrapes++;
        return snapshot();
      },
      { processMetrics: false },
    );
    m.progressed('lab', { slices: 3, bytes: 3000 });
    m.progressed('lab', { slices: 0, bytes: 0 });
    m.transfer('lab', 'assigned');
    m.transfer('lab', 'done');
    m.digestMismatches('lab', 2);
    m.serverLost('lab');
    const text = await m.text();
    assert.equal(scrapes, 1, 'one snapshot per scrape');
    for (const line of [
      'cascade_bytes_received_total{session="lab"} 3000',
      'cascade_slices_verified_total{session="lab"} 3',
      'cascade_digest_mismatches_total{session="lab"} 2',
      'cascade_transfers_total{session="lab",outcome="assigned"} 1',
      'cascade_transfers_total{session="lab",outcome="done"} 1',
      'cascade_servers_lost_total{session="lab"} 1',
      'cascade_session_state{session="lab",state="running"} 1',
      'cascade_session_state{session="lab",state="waiting"} 0',
      'cascade_machines_imaged{session="lab"} 4',
      'cascade_queue_length{session="lab",queue="clients"} 1',
      'cascade_queue_length{session="lab",queue="servers"} 1',
      'cascade_server_slots{session="lab",kind="total"} 5',
      'cascade_server_slots{session="lab",kind="free"} 2',
      'cascade_transfers_active{session="lab"} 3',
      'cascade_transfer_rate_bytes{session="lab"} 1750',
      'cascade_session_complete_sources{session="lab"} 0',
      'cascade_servers_unreachable{session="lab"} 0',
      'cascade_roster_machines{session="lab",outcome="failed"} 1',
      'cascade_machine_info{session="lab",name="lab-10.0.0.1",ip="10.0.0.1",mac="",outcome="imaged"} 1',
      '# TYPE cascade_bytes_received_total counter',
      '# TYPE cascade_queue_length gauge',
    ])
      assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    assert.match(m.contentType, /^text\/plain/);
  });

  test('machine series are bounded however many machines a lab has', async () => {
    const many = Array.from({ length: MACHINE_SERIES_LIMIT + 50 }, (_, i) => machine(i, 'waiting'));
    const m = new CoordinatorMetrics(() => snapshot(many), { processMetrics: false });
    const series = (await m.text()).split('\n').filter((l) => l.startsWith('cascade_machine_info{'));
    assert.equal(series.length, MACHINE_SERIES_LIMIT);
  });
});
