/**
 * The pure parts of `npm run boot-media` (scripts/boot-media): the initramfs archive writer, module
 * dependencies read from a module's .modinfo, and the load order. No root, no kernel package.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

interface CpioWriter {
  dir(p: string): void;
  file(p: string, data: string | Buffer, mode?: number): void;
  symlink(p: string, target: string): void;
  charDev(p: string, major: number, minor: number, mode?: number): void;
  gzip(level?: number): Buffer;
}
interface ModuleEntry {
  name: string;
  size: number;
}
interface KernelLib {
  modinfo(elf: Buffer): string[];
  resolveModules(dir: string, wanted: string[]): { modules: ModuleEntry[]; missing: string[] };
}

// Plain .mjs build scripts: imported by a path TypeScript does not resolve, typed by hand above.
const scripts = '../scripts/boot-media/';
const { Cpio } = (await import(`${scripts}cpio.mjs`)) as { Cpio: new () => CpioWriter };
const kernel = (await import(`${scripts}kernel.mjs`)) as KernelLib;

interface Entry {
  name: string;
  mode: number;
  data: Buffer;
  rdev: [number, number];
}

/** A newc reader, strict about the format: magic, 4-byte alignment, the trailer at the end. */
function readNewc(archive: Buffer): Entry[] {
  const out: Entry[] = [];
  let o = 0;
  for (let n = 0; n < 10_000; n++) {
    assert.equal(archive.toString('latin1', o, o + 6), '070701', `magic at ${o}`);
    const field = (i: number) => parseInt(archive.toString('latin1', o + 6 + i * 8, o + 14 + i * 8), 16);
    const [mode, size, rmaj, rmin, nameLen] = [field(1), field(6), field(9), field(10), field(11)];
    const name = archive.toString('latin1', o + 110, o + 110 + nameLen - 1);
    o += 110 + nameLen;
    o += (4 - (o % 4)) % 4;
    const data = archive.subarray(o, o + size);
    o += size + ((4 - (size % 4)) % 4);
    if (name === 'TRAILER!!!') {
      assert.equal(o, archive.length, 'nothing after the trailer');
      return out;
    }
    out.push({ name, mode, data, rdev: [rmaj, rmin] });
  }
  throw new Error('no trailer');
}

/** A minimal ELF64 relocatable object with a .modinfo section holding `info`. */
function fakeModule(info: string[]): Buffer {
  const modinfo = Buffer.from(info.map((s) => `${s}\0`).join(''), 'latin1');
  const shstrtab = Buffer.from('\0.modinfo\0.shstrtab\0', 'latin1');
  const dataOff = 64;
  const strOff = dataOff + modinfo.length;
  const shoff = Math.ceil((strOff + shstrtab.length) / 8) * 8;
  const elf = Buffer.alloc(shoff + 3 * 64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little-endian
  elf.writeBigUInt64LE(BigInt(shoff), 0x28);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(3, 0x3c);
  elf.writeUInt16LE(2, 0x3e);
  modinfo.copy(elf, dataOff);
  shstrtab.copy(elf, strOff);
  const section = (i: number, name: number, off: number, size: number) => {
    const h = shoff + i * 64;
    elf.writeUInt32LE(name, h);
    elf.writeBigUInt64LE(BigInt(off), h + 24);
    elf.writeBigUInt64LE(BigInt(size), h + 32);
  };
  section(1, 1, dataOff, modinfo.length);
  section(2, 10, strOff, shstrtab.length);
  return elf;
}

describe('initramfs archive (newc cpio)', () => {
  test('holds directories, files, symlinks and device nodes, root-owned, 4-byte aligned', () => {
    const c = new Cpio();
    c.dir('usr/bin');
    c.file('init', '#!/bin/sh\necho hi\n', 0o755);
    c.file('cascade/x/y.txt', Buffer.from('abc'));
    c.symlink('bin/sh', '/bin/busybox');
    c.charDev('dev/console', 5, 1);
    const entries = readNewc(gunzipSync(c.gzip()));
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual(
      entries.map((e) => e.name),
      ['usr', 'usr/bin', 'init', 'cascade', 'cascade/x', 'cascade/x/y.txt', 'bin/sh', 'dev/console'],
    );
    assert.equal(byName.get('usr/bin')!.mode, 0o040755);
    assert.equal(byName.get('init')!.mode, 0o100755);
    assert.equal(byName.get('init')!.data.toString(), '#!/bin/sh\necho hi\n');
    assert.equal(byName.get('cascade/x/y.txt')!.mode, 0o100644);
    assert.equal(byName.get('bin/sh')!.mode, 0o120777);
    assert.equal(byName.get('bin/sh')!.data.toString(), '/bin/busybox');
    assert.equal(byName.get('dev/console')!.mode, 0o020600);
    assert.deepEqual(byName.get('dev/console')!.rdev, [5, 1]);
  });

  test('refuses a path added twice', () => {
    const c = new Cpio();
    c.file('a', 'x');
    assert.throws(() => c.file('a', 'y'), /added twice/);
  });
});

describe('kernel modules', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('modinfo reads the key=value strings of .modinfo', () => {
    const info = ['license=GPL', 'depends=virtio,virtio_ring', 'alias=pci:v00001AF4d00001000sv*sd*bc*sc*i*'];
    assert.deepEqual(kernel.modinfo(fakeModule(info)), info);
    assert.throws(() => kernel.modinfo(Buffer.from('not an elf file at all, not at all')), /not an ELF64/);
  });

  test('orders every wanted module after what it depends on; names missing ones, not built-in ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cascade-mods-'));
    dirs.push(dir);
    const put = (rel: string, deps: string, gz = false) => {
      mkdirSync(join(dir, 'kernel', rel, '..'), { recursive: true });
      const elf = fakeModule(['license=GPL', `depends=${deps}`]);
      writeFileSync(join(dir, 'kernel', rel), gz ? gzipSync(elf) : elf);
    };
    put('drivers/virtio/virtio_ring.ko', '');
    put('drivers/virtio/virtio.ko', 'virtio_ring');
    put('drivers/virtio/virtio_pci.ko', 'virtio,virtio_ring,virtio-pci-modern-dev');
    put('drivers/virtio/virtio_pci_modern_dev.ko.gz', '', true);
    put('drivers/block/virtio_blk.ko', 'virtio,virtio_ring,crc32');
    put('drivers/net/ethernet/intel/e1000e/e1000e.ko', '');
    writeFileSync(join(dir, 'modules.builtin'), 'kernel/lib/crc32.ko\n');
    const { modules, missing } = kernel.resolveModules(dir, ['virtio_blk', 'virtio_pci', 'e1000e', 'no_such_nic']);
    const names = modules.map((m) => m.name);
    assert.deepEqual(missing, ['no_such_nic']);
    assert.equal(new Set(names).size, names.length, 'each module once');
    assert.deepEqual(
      new Set(names),
      new Set(['virtio_ring', 'virtio', 'virtio_blk', 'virtio_pci_modern_dev', 'virtio_pci', 'e1000e']),
    );
    const before = (a: string, b: string) =>
      assert.ok(names.indexOf(a) < names.indexOf(b), `${a} before ${b}: ${names.join(', ')}`);
    before('virtio_ring', 'virtio');
    before('virtio', 'virtio_blk');
    before('virtio', 'virtio_pci');
    before('virtio_pci_modern_dev', 'virtio_pci');
    // the .ko.gz was unpacked: its size is the ELF's
    assert.equal(
      modules.find((m) => m.name === 'virtio_pci_modern_dev')!.size,
      fakeModule(['license=GPL', 'depends=']).length,
    );
  });
});
