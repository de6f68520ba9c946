import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CascadeError, type Manifest, type ServerRef } from '@cascade/common';
import type { PeerTarget } from '../../src/session/components.js';
import {
  imaged,
  manifestOf,
  targetOf,
  transition,
  type PeerEvent,
  type PeerPhase,
  type PeerState,
} from '../../src/session/peer-state.js';

const manifest = { imageId: 'img' } as unknown as Manifest;
const target = { reused: 0 } as unknown as PeerTarget;
const server: ServerRef = { id: 's1', name: 's1', host: '127.0.0.1', port: 1 };
const refusal = new CascadeError('ERR_TARGET_IN_USE', 'mounted');

/** One state of every phase, as the lifecycle reaches it. */
const states: Record<PeerPhase, PeerState> = {
  connecting: { phase: 'connecting' },
  refused: { phase: 'refused', error: refusal },
  preparing: { phase: 'preparing', manifest, relay: false },
  waiting: { phase: 'waiting', manifest, relay: false, target },
  fetching: { phase: 'fetching', manifest, relay: false, target, server },
  serving: { phase: 'serving', manifest, relay: false, target },
  stopping: { phase: 'stopping', reason: 'SIGINT', from: { phase: 'waiting', manifest, relay: false, target } },
  finished: { phase: 'finished', target, stopReason: null },
  failed: { phase: 'failed', target: null, stopReason: null },
};

const events: Record<PeerEvent['type'], PeerEvent> = {
  refused: { type: 'refused', error: refusal },
  session: { type: 'session', manifest, relay: true },
  'target-ready': { type: 'target-ready', target },
  assigned: { type: 'assigned', server },
  'transfer-ended': { type: 'transfer-ended' },
  imaged: { type: 'imaged' },
  stop: { type: 'stop', reason: 'SIGINT' },
  ended: { type: 'ended', ok: true },
};

/** The table in peer-state.ts: from → event → to. Every pair not listed is refused. */
const table: Array<[PeerPhase, PeerEvent['type'], PeerPhase]> = [
  ['connecting', 'refused', 'refused'],
  ['connecting', 'session', 'preparing'],
  ['preparing', 'target-ready', 'waiting'],
  ['waiting', 'assigned', 'fetching'],
  ['fetching', 'transfer-ended', 'waiting'],
  ['waiting', 'imaged', 'serving'],
  ...(['connecting', 'refused', 'preparing', 'waiting', 'fetching', 'serving'] as const).map(
    (p): [PeerPhase, PeerEvent['type'], PeerPhase] => [p, 'stop', 'stopping'],
  ),
  ...(['connecting', 'refused', 'preparing', 'waiting', 'fetching', 'serving', 'stopping'] as const).map(
    (p): [PeerPhase, PeerEvent['type'], PeerPhase] => [p, 'ended', 'finished'],
  ),
];

describe('peer state: the transition table', () => {
  test('every pair of phase and event does what the table says, and nothing else', () => {
    for (const [phase, from] of Object.entries(states)) {
      for (const [type, event] of Object.entries(events)) {
        const row = table.find(([p, e]) => p === phase && e === type);
        const next = transition(from, event);
        assert.equal(next?.phase ?? null, row ? row[2] : null, `${phase} + ${type}`);
      }
    }
  });

  test('an assignment carries the image and the target into fetching, with its server', () => {
    const next = transition(states.waiting, events.assigned);
    assert.deepEqual(next, { phase: 'fetching', manifest, relay: false, target, server });
  });

  test('a session that streams is remembered from preparing on', () => {
    const preparing = transition(states.connecting, events.session)!;
    const waiting = transition(preparing, events['target-ready'])!;
    assert.equal(waiting.phase === 'waiting' && waiting.relay, true);
  });

  test('ended: failed when not ok; a stop reason and the target are kept for the goodbye and the close', () => {
    assert.deepEqual(transition(states.stopping, { type: 'ended', ok: false }), {
      phase: 'failed',
      target,
      stopReason: 'SIGINT',
    });
  });

  test('what each phase knows: its target and image, and whether the image is whole', () => {
    assert.equal(targetOf(states.preparing), null);
    assert.equal(targetOf(states.stopping), target);
    assert.equal(manifestOf(states.connecting), null);
    assert.equal(manifestOf(states.fetching), manifest);
    assert.equal(imaged(states.serving), true);
    assert.equal(imaged({ phase: 'stopping', reason: 'x', from: states.serving }), true);
    assert.equal(imaged(states.stopping), false);
  });
});
