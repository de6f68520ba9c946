import { readFile, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';

/**
 * Size in bytes of an open file or block device. fstat reports 0 for block devices on Linux,
 * so their size comes from sysfs (/sys/class/block/NAME/size, in 512-byte sectors).
 */
export async function sizeOf(fh: FileHandle, path: string): Promise<{ size: number; blockDevice: boolean }> {
  const st = await fh.stat();
  if (!st.isBlockDevice()) return { size: st.size, blockDevice: false };
  const name = basename(await realpath(path));
  const sectors = Number((await readFile(`/sys/class/block/${name}/size`, 'utf8')).trim());
  return { size: sectors * 512, blockDevice: true };
}
