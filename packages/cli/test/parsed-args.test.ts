import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COORDINATOR_DEFAULTS, DEFAULT_COORDINATOR_LIMITS } from '@cascade/coordinator/coordinator-options';
import { limitsFrom } from '../src/commands/coordinator.js';
import { COORDINATOR_OPTIONS } from '../src/options/coordinator-options.js';
import { parsedArgs, type ArgsOf } from '../src/options/option-table.js';

type Args = ArgsOf<typeof COORDINATOR_OPTIONS>;

/** The arguments `cascade coordinator` gets with no option given: each table default. */
function defaults(): Args {
  const out: Record<string, unknown> = {};
  for (const o of COORDINATOR_OPTIONS) if ('default' in o) out[o.name] = o.default;
  return out as Args;
}

describe('options consumed parsed, defaults in one table', () => {
  test("a handler gets each duration and size as the table's parse made it", () => {
    const args = parsedArgs(COORDINATOR_OPTIONS, { ...defaults(), 'ping-interval': '90s', 'max-message': '1MiB' });
    assert.equal(args['ping-interval'], 90_000);
    assert.equal(args['max-message'], 1024 * 1024);
    assert.equal(args.listen, '0.0.0.0:7770', 'text without a unit stays text');
  });

  test("cascade coordinator's table defaults are the library's defaults", () => {
    const args = parsedArgs(COORDINATOR_OPTIONS, defaults());
    assert.equal(args['ping-interval'], COORDINATOR_DEFAULTS.pingIntervalMs);
    const { maxBadMessages: _, ...limits } = DEFAULT_COORDINATOR_LIMITS;
    assert.deepEqual(limitsFrom(args), limits);
  });
});
