import { open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import {
  CascadeError,
  readPayload,
  slicePayloadLength,
  slicePieces,
  zeroMap,
  type Logger,
  type Manifest,
} from '@cascade/common';

/**
 * The seeder's compressed slices: each slice's payload is compressed once (zstd) — ahead of the
 * stream as clients ask for slices, or all at once by `cascade manifest` — and kept in one file
 * beside the manifest cache (`<manifest cache>.<imageId>.zst`, its index in `….zst.json`), so a
 * restart serves at once. A slice that does not shrink is sent raw from the image. Relays forward
 * what the seeder sent; every machine decompresses and checks the slice's digest before it writes
 * or serves it, so a damaged cache costs retries, never a bad image.
 */
export interface WireIndex {
  version: 1;
  imageId: string;
  level: number;
  /** Per slice: offset of its compressed bytes in the cache file, and their length (0: raw; -1: not yet known). */
  at: number[];
  len: number[];
}

/** Compress one payload; null when it does not shrink (sent raw). */
export type CompressFn = (payload: Buffer, level: number) => Promise<Uint8Array | null>;

export interface WireCacheOptions {
  level: number;
  compress: CompressFn;
  /** Slices compressed at once (the compressing threads' count), and how far ahead of a request. */
  parallel: number;
  logger?: Logger | undefined;
}

const UNKNOWN = -1;

export class WireCache {
  private readonly pending = new Map<number, Promise<void>>();
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private end: number;
  private dirty = 0;
  private closed = false;
  /** Index writes, one after another. */
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dataPath: string,
    private readonly data: FileHandle,
    private readonly image: FileHandle,
    private readonly m: Manifest,
    readonly index: WireIndex,
    private readonly o: WireCacheOptions,
  ) {
    this.end = 0;
  }

  /** The cache of this manifest at this level (what an earlier run compressed is kept). */
  static async open(cachePath: string, imagePath: string, m: Manifest, o: WireCacheOptions): Promise<WireCache> {
    const dataPath = `${cachePath}.${m.imageId}.zst`;
    const known = await readIndex(`${dataPath}.json`, m, o.level);
    const n = m.digests.length;
    const index = known ?? {
      version: 1 as const,
      imageId: m.imageId,
      level: o.level,
      at: new Array<number>(n).fill(0),
      len: new Array<number>(n).fill(UNKNOWN),
    };
    const data = await open(dataPath, known ? 'r+' : 'w+');
    const image = await open(imagePath, 'r').catch(async (err: Error) => {
      await data.close();
      throw new CascadeError('ERR_IMAGE_UNREADABLE', `cannot open image ${imagePath}: ${err.message}`, { cause: err });
    });
    const cache = new WireCache(dataPath, data, image, m, index, o);
    cache.end = (await data.stat()).size;
    return cache;
  }

  /** Bytes a full image takes on the wire (zero slices excluded; slices not compressed yet counted raw). */
  wireBytes(): number {
    const zero = zeroMap(this.m);
    let n = 0;
    for (let i = 0; i < this.m.digests.length; i++) {
      if (!zero.get(i)) n += Math.max(0, this.index.len[i] ?? 0) || slicePayloadLength(this.m, i);
    }
    return n;
  }

  /** Slice `i`'s compressed payload, or null when it goes raw; compresses it (and the next ones) first when new. */
  async read(i: number): Promise<Buffer | null> {
    if (this.index.len[i] === UNKNOWN) await this.compress(i);
    for (let k = 1; k <= this.o.parallel; k++) this.ahead(i + k);
    const len = this.index.len[i] ?? 0;
    if (len <= 0) return null;
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.data.read(buf, got, len - got, (this.index.at[i] as number) + got);
      if (bytesRead === 0)
        throw new CascadeError('ERR_IMAGE_UNREADABLE', `the compressed cache ends early (slice ${i})`);
      got += bytesRead;
    }
    return buf;
  }

  /** Compress every slice not compressed yet (`cascade manifest`), `parallel` at once. */
  async fill(onProgress?: (done: number, total: number) => void): Promise<void> {
    const zero = zeroMap(this.m);
    const todo = this.index.len.flatMap((len, i) => (len === UNKNOWN && !zero.get(i) ? [i] : []));
    let done = 0;
    await Promise.all(todo.map((i) => this.compress(i).then(() => onProgress?.(++done, todo.length))));
    await this.saveIndex();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.pending.values());
    await this.saveIndex().catch((err: unknown) =>
      this.o.logger?.warn({ err }, 'could not save the compressed cache index'),
    );
    await this.data.close();
    await this.image.close();
  }

  /** Start compressing slice `i` in the background when it is new (a failure is logged, the slice then goes raw). */
  private ahead(i: number): void {
    if (i >= this.m.digests.length || this.index.len[i] !== UNKNOWN || this.closed) return;
    this.compress(i).catch((err: unknown) =>
      this.o.logger?.warn({ err, slice: i }, 'compressing a slice ahead failed'),
    );
  }

  private compress(i: number): Promise<void> {
    let p = this.pending.get(i);
    if (!p) {
      p = this.slot(() => this.compressNow(i)).finally(() => this.pending.delete(i));
      this.pending.set(i, p);
    }
    return p;
  }

  private async compressNow(i: number): Promise<void> {
    if (this.index.len[i] !== UNKNOWN) return;
    const m = this.m;
    const payload = await readPayload(
      this.image,
      { path: m.name, size: m.size },
      Buffer.allocUnsafe(m.sliceSize),
      slicePieces(m, i),
    );
    const z = await this.o.compress(payload, this.o.level);
    if (z) {
      const at = this.end;
      this.end += z.length;
      await this.data.write(z, 0, z.length, at);
      this.index.at[i] = at;
    }
    this.index.len[i] = z ? z.length : 0;
    if (++this.dirty >= 256) await this.saveIndex();
  }

  /** Run `fn` when fewer than `parallel` compressions run. */
  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= Math.max(1, this.o.parallel)) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  /** The index, written whole under a temporary name and renamed (never half-written); one write at a time. */
  private saveIndex(): Promise<void> {
    const next = this.saving.then(() => this.saveNow());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async saveNow(): Promise<void> {
    if (this.dirty === 0) return;
    this.dirty = 0;
    await this.data.sync();
    const tmp = `${this.dataPath}.json.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(this.index));
    await rename(tmp, `${this.dataPath}.json`);
  }
}

async function readIndex(path: string, m: Manifest, level: number): Promise<WireIndex | null> {
  try {
    const raw = JSON.parse(await readFile(path, 'utf8')) as Partial<WireIndex>;
    const n = m.digests.length;
    const ok =
      raw.version === 1 &&
      raw.imageId === m.imageId &&
      raw.level === level &&
      Array.isArray(raw.at) &&
      Array.isArray(raw.len) &&
      raw.at.length === n &&
      raw.len.length === n;
    return ok ? (raw as WireIndex) : null;
  } catch {
    return null;
  }
}
