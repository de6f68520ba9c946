import type { FileHandle } from 'node:fs/promises';
import { readDiskLayout, UsedMap, type DiskLayout, type Logger } from '@cascade/common';

/** What the seeder learnt of an image's layout, for its log and `cascade manifest`. */
export interface ImageMap {
  /** The used bytes, or null when every byte is sent (`--whole-disk`, or nothing could be left out). */
  used: UsedMap | null;
  layout: DiskLayout | null;
}

/**
 * Which bytes of the image its filesystems use (partition table + allocation maps, see
 * packages/common/src/disk): only those are read, hashed, sent and written. Anything the maps
 * cannot vouch for is sent whole, and each such partition is named in a warning.
 */
export async function mapImage(
  fh: FileHandle,
  size: number,
  o: { wholeDisk: boolean; logger?: Logger | undefined; image: string },
): Promise<ImageMap> {
  if (o.wholeDisk) return { used: null, layout: null };
  const read = async (offset: number, length: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break; // the end of the image: the map reader sees a short read
      got += bytesRead;
    }
    return got === length ? buf : buf.subarray(0, got);
  };
  const layout = await readDiskLayout(read, size);
  for (const w of layout.warnings) o.logger?.warn({ image: o.image, warning: w }, 'part of the image is sent whole');
  const partitions = layout.partitions.map((p) => ({
    index: p.index,
    type: p.typeName,
    fs: p.detail ?? p.fs,
    mapped: p.mapped,
    usedBytes: p.usedBytes,
  }));
  o.logger?.info(
    { image: o.image, table: layout.table, size, usedBytes: layout.usedBytes, partitions },
    'image mapped: only the used bytes are sent',
  );
  if (layout.usedBytes >= size) return { used: null, layout };
  return { used: UsedMap.fromRanges(layout.used, size), layout };
}
