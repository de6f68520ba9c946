import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { PEER_OPTIONS } from '../src/options/peer-options.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README's table of the peer's options: flag → the default it shows (in backticks), when it shows one. */
function readmePeerDefaults(): Map<string, string> {
  const start = README.indexOf("The peer's options, as boot media set them:");
  assert.ok(start > 0, 'the README has the peer option table');
  const rows = README.slice(start).split('\n').slice(1);
  const out = new Map<string, string>();
  for (const row of rows.slice(rows.findIndex((r) => r.startsWith('|')))) {
    if (!row.startsWith('|')) break;
    const cells = row.split('|').map((c) => c.trim());
    const flag = /^`--([a-z-]+)`$/.exec(cells[1] ?? '')?.[1];
    const def = /^`(.*)`$/.exec(cells[4] ?? '')?.[1];
    if (flag && def !== undefined) out.set(flag, def);
  }
  return out;
}

describe('README', () => {
  test("the peer option table's defaults are the option table's", () => {
    const shown = readmePeerDefaults();
    assert.ok(shown.has('listen'), 'the listen row shows its default');
    for (const [flag, def] of shown) {
      const spec = PEER_OPTIONS.find((o) => o.name === flag) as { default?: unknown } | undefined;
      assert.ok(spec, `--${flag} is a peer option`);
      assert.equal(def, String(spec.default), `--${flag}`);
    }
  });
});
