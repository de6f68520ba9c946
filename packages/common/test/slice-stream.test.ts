import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CorruptingSliceSource, type SliceSource } from '../src/data/slice-source.js';
import { isSliceStream, type SliceBody, type SliceStream } from '../src/data/slice-stream.js';
import type { Manifest } from '../src/manifest/manifest.js';
import { noise } from './fixtures.js';

const LEN = 4096;
const body = noise(LEN, 3);

/** A stream giving `body` in four chunks (views of it). */
function chunked(): SliceStream {
  const parts = [0, 1, 2, 3].map((i) => body.subarray(i * 1024, (i + 1) * 1024));
  return { length: LEN, next: () => Promise.resolve(parts.shift() ?? null), close: () => undefined };
}

/** A relay-like source whose every slice is still arriving. */
const streaming: SliceSource = {
  manifest: { digests: ['a', 'b'] } as unknown as Manifest,
  has: () => false,
  readSlice: () => Promise.reject(new Error('not used')),
  openSlice: (): Promise<SliceBody> => Promise.resolve(chunked()),
};

async function readAll(b: SliceBody): Promise<Buffer[]> {
  if (!isSliceStream(b)) return [Buffer.isBuffer(b) ? b : b.zstd];
  const out: Buffer[] = [];
  for (let c = await b.next(), n = 0; c !== null && n < 100; c = await b.next(), n++) out.push(c);
  return out;
}

describe('CorruptingSliceSource on a streamed slice', () => {
  test('corrupt-once flips the middle byte of the first send only, copying only the chunk that holds it', async () => {
    const src = new CorruptingSliceSource(streaming, { once: [1] });
    const bad = await readAll(await src.openSlice(1));
    const joined = Buffer.concat(bad);
    assert.equal(joined.length, LEN);
    const diff = [...joined].flatMap((v, i) => (v === body[i] ? [] : [i]));
    assert.deepEqual(diff, [LEN >> 1]);
    assert.equal(bad[0]?.buffer, body.buffer, 'untouched chunks are passed on as they are');
    assert.notEqual(bad[2]?.buffer, body.buffer, 'the chunk with the flipped byte is a copy');
    assert.deepEqual(Buffer.concat(await readAll(await src.openSlice(1))), body, 'the second send is clean');
    assert.deepEqual(Buffer.concat(await readAll(await src.openSlice(0))), body, 'other slices are clean');
  });
});
