/**
 * The image the VM test sends: a disk whose boot sector prints a known line on the first serial
 * port (COM1, 0x3F8) and halts, followed by pseudo-random data so the slices really travel.
 */

/** The line the received disk prints when a guest boots it. */
export const BOOT_LINE = 'CASCADE-TEST-IMAGE booted from disk';

/**
 * x86 real mode, loaded by the BIOS at 0000:7C00. Hand-assembled:
 *
 *   00 FA          cli
 *   01 31 C0       xor  ax, ax
 *   03 8E D8       mov  ds, ax
 *   05 BE 16 7C    mov  si, 0x7C16      ; the message, right after this code
 *   08 BA F8 03    mov  dx, 0x3F8       ; COM1 data register
 *   0B AC        l:lodsb
 *   0C 84 C0       test al, al
 *   0E 74 03       jz   h               ; end of string
 *   10 EE          out  dx, al
 *   11 EB F8       jmp  l
 *   13 F4        h:hlt
 *   14 EB FD       jmp  h
 *   16 …           message, CR LF, NUL
 */
const CODE = [
  0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8,
  0xf4, 0xeb, 0xfd,
];

export function bootSector(line = BOOT_LINE): Buffer {
  const mbr = Buffer.alloc(512);
  Buffer.from(CODE).copy(mbr, 0);
  const msg = Buffer.from(`${line}\r\n\0`, 'latin1');
  if (CODE.length + msg.length > 446) throw new Error('boot line too long for the boot sector');
  msg.copy(mbr, CODE.length);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** A bootable image of `size` bytes: the boot sector, then deterministic pseudo-random bytes. */
export function bootableImage(size: number, seed = 15): Buffer {
  const img = Buffer.alloc(size);
  bootSector().copy(img, 0);
  let x = seed >>> 0 || 1;
  for (let o = 512; o + 4 <= size; o += 4) {
    // xorshift32: fast, and never all zeros (zero slices are not sent at all)
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    img.writeUInt32LE(x, o);
  }
  return img;
}
