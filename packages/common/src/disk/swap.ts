/**
 * Linux swap: the header page ends with `SWAPSPACE2` (v1) or `SWAP-SPACE` (v0). Its contents are
 * dead after a reboot, so the header page alone is enough to restore it; a hibernation image
 * (`S1SUSPEND` and friends) is not recognised and so is sent whole.
 */
import type { FsMap, ReadAt } from './read-source.js';

const PAGE_SIZES = [4096, 8192, 16384, 65536];

/** Map a swap area: `header` sends only the header page, `whole` the whole partition. */
export async function mapSwap(read: ReadAt, length: number, mode: 'header' | 'whole'): Promise<FsMap | null> {
  for (const page of PAGE_SIZES) {
    if (page > length) break;
    const sig = (await read(page - 10, 10)).toString('latin1');
    if (sig === 'SWAPSPACE2' || sig === 'SWAP-SPACE') {
      const detail = `swap ${sig === 'SWAPSPACE2' ? 'v1' : 'v0'}, ${page}-byte pages`;
      return { fs: 'swap', detail, used: [[0, mode === 'header' ? page : length]], unit: page };
    }
  }
  return null;
}
