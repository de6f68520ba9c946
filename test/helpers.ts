import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temp folder removed after the test file (kept when CASCADE_KEEP_TEST_DIRS is set). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cascade-${prefix}-`));
  after(async () => {
    if (!process.env.CASCADE_KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}
