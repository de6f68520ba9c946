import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runCascade } from './helpers.js';

/**
 * The README's `cascade simulate` examples print what the command prints: every line shown under
 * a `$ cascade simulate …` line (an example may show only some of them) is a line of the output
 * of that very command. The simulator is deterministic, so a change to the scheduler or the model
 * that changes an example shows here (the 300-machine example went stale once without a test).
 */
const README = fileURLToPath(new URL('../README.md', import.meta.url));

interface Example {
  args: string[];
  shown: string[];
}

function examples(text: string): Example[] {
  const out: Example[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\$ cascade (simulate .*)$/.exec(lines[i] as string);
    if (!m) continue;
    const shown: string[] = [];
    for (let j = i + 1; j < lines.length && !/^(```|\$ )/.test(lines[j] as string); j++) {
      if ((lines[j] as string).trim() !== '') shown.push((lines[j] as string).trimEnd());
    }
    out.push({ args: (m[1] as string).split(/\s+/), shown });
  }
  return out;
}

test("the README's cascade simulate examples show what the command prints", async () => {
  const found = examples(await readFile(README, 'utf8'));
  assert.ok(found.length >= 3, `expected the README's simulate examples, found ${found.length}`);
  for (const ex of found) {
    const run = await runCascade(ex.args, { timeoutMs: 60_000 });
    assert.equal(run.code, 0, `cascade ${ex.args.join(' ')}: ${run.stderr}`);
    const printed = new Set(run.stdout.split('\n').map((l) => l.trimEnd()));
    const stale = ex.shown.filter((l) => !printed.has(l));
    assert.deepEqual(stale, [], `cascade ${ex.args.join(' ')}: README lines the command no longer prints`);
    assert.ok(ex.shown.length > 0, `cascade ${ex.args.join(' ')}: the README shows no output`);
  }
});
