import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoordinatorMetrics } from '../src/metrics.js';
import type { SessionStatus, StatusSnapshot } from '../src/status.js';

function snapshot(): StatusSnapshot {
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
    imaged: 4,
    waiting: [{ position: 0, id: 'a', name: 'a', since: 0 }],
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
      },
    ],
    transfers: [
      { client: 'c', clientName: 'c', server: 's', serverName: 's', since: 0, slices: 1, bytes: 1, rate: 1000 },
      { client: 'd', clientName: 'd', server: 's', serverName: 's', since: 0, slices: 1, bytes: 1, rate: 500 },
      { client: 'e', clientName: 'e', server: 'p', serverName: 'p', since: 0, slices: 1, bytes: 1, rate: 250 },
    ],
  };
  return { now: 0, sessions: [lab], warnings: [] };
}

describe('CoordinatorMetrics', () => {
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
      '# TYPE cascade_bytes_received_total counter',
      '# TYPE cascade_queue_length gauge',
    ])
      assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    assert.match(m.contentType, /^text\/plain/);
  });
});
