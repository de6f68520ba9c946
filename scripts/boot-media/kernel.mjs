// The kernel side of the boot media: get a kernel package, pick the disk and NIC modules a lab PC
// needs, and order them so each loads after what it depends on.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Drivers for the disks and NICs of lab PCs (and of virtual machines). Dependencies are added
 * from each module's own `depends=` field, so this lists only what a machine needs directly.
 */
export const WANTED_MODULES = [
  // virtual machines
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'virtio_net',
  'vmxnet3',
  // disks: SATA/AHCI, old IDE-mode SATA, NVMe, SCSI disks, USB sticks, SD cards
  'ahci',
  'ata_piix',
  'nvme',
  'sd_mod',
  'sr_mod',
  'usb_storage',
  'uas',
  'xhci_pci',
  'ehci_pci',
  'ohci_pci',
  'uhci_hcd',
  'mmc_block',
  'sdhci_pci',
  // Intel NICs
  'e1000',
  'e1000e',
  'igb',
  'igc',
  'ixgbe',
  'i40e',
  'ice',
  // Realtek, Broadcom, Aquantia, Atheros/Killer NICs; common USB Ethernet adapters
  'r8169',
  '8139cp',
  'tg3',
  'bnx2',
  'bnxt_en',
  'atlantic',
  'alx',
  'r8152',
  'ax88179_178a',
  'cdc_ether',
];

const norm = (name) => name.replace(/-/g, '_');

/** Fetch the kernel package with apt (`apt-get download`), following a metapackage to the image. */
export function downloadKernelDeb(pkg, cacheDir) {
  mkdirSync(cacheDir, { recursive: true });
  let name = pkg;
  // linux-image-amd64 is a metapackage: follow its Depends to the versioned linux-image-*.
  for (let i = 0; i < 3; i++) {
    const deps = execFileSync('apt-cache', ['depends', name], { encoding: 'utf8' });
    const next = deps.match(/Depends: (linux-image-\S+)/);
    if (!next) break;
    name = next[1];
  }
  const have = readdirSync(cacheDir).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  if (have) return join(cacheDir, have);
  try {
    execFileSync('apt-get', ['download', '-q', name], { cwd: cacheDir, stdio: 'pipe' });
  } catch (err) {
    throw new Error(`apt-get download ${name} failed: ${String(err.stderr ?? err.message).trim()}`);
  }
  const got = readdirSync(cacheDir).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  if (!got) throw new Error(`apt-get download ${name} left no .deb in ${cacheDir}`);
  return join(cacheDir, got);
}

/** Unpack a kernel .deb; returns { vmlinuz, modulesDir, release }. */
export function unpackKernelDeb(deb, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('dpkg-deb', ['-x', deb, dir]);
  return findKernel(join(dir, 'boot'), [join(dir, 'lib/modules'), join(dir, 'usr/lib/modules')]);
}

/** A kernel image in `bootDir` and its modules in one of `moduleRoots`. */
export function findKernel(bootDir, moduleRoots) {
  const images = readdirSync(bootDir).filter((f) => /^vmlinuz-/.test(f));
  if (images.length !== 1) throw new Error(`expected one vmlinuz-* in ${bootDir}, found ${images.length}`);
  const release = images[0].slice('vmlinuz-'.length);
  const modulesDir = moduleRoots.map((r) => join(r, release)).find((d) => existsSync(d));
  if (!modulesDir) throw new Error(`no modules for ${release} under ${moduleRoots.join(' or ')}`);
  return { vmlinuz: join(bootDir, images[0]), modulesDir, release };
}

/** A module file's bytes, decompressed (.ko, .ko.gz, .ko.xz, .ko.zst). */
export function readModule(file) {
  if (file.endsWith('.ko')) return readFileSync(file);
  if (file.endsWith('.gz')) return gunzipSync(readFileSync(file));
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : null;
  if (!tool) throw new Error(`unknown module compression: ${file}`);
  return execFileSync(tool, ['-dc', file], { maxBuffer: 64 << 20 });
}

/** The `key=value` strings of an ELF64 module's .modinfo section. */
export function modinfo(elf) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) throw new Error('not an ELF64 module');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i) => {
    const o = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(o),
      offset: Number(elf.readBigUInt64LE(o + 24)),
      size: Number(elf.readBigUInt64LE(o + 32)),
    };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const start = names.offset + s.name;
    const nm = elf.toString('latin1', start, elf.indexOf(0, start));
    if (nm !== '.modinfo') continue;
    return elf
      .toString('latin1', s.offset, s.offset + s.size)
      .split('\0')
      .filter(Boolean);
  }
  return [];
}

/** Every module file under `modulesDir/kernel`, by normalised name. */
function indexModules(modulesDir) {
  const byName = new Map();
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.(gz|xz|zst))?$/.test(e.name)) byName.set(norm(basename(e.name).replace(/\.ko.*$/, '')), p);
    }
  };
  walk(join(modulesDir, 'kernel'));
  return byName;
}

/** Names built into the kernel (no file to load). */
function builtins(modulesDir) {
  const f = join(modulesDir, 'modules.builtin');
  if (!existsSync(f)) return new Set();
  return new Set(
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => norm(basename(l).replace(/\.ko$/, ''))),
  );
}

/**
 * The wanted modules and everything they depend on, dependencies first (a depth-first post-order
 * over `depends=`). Returns [{ name, file, data, size }] plus the wanted names this kernel lacks.
 */
export function resolveModules(modulesDir, wanted = WANTED_MODULES) {
  const files = indexModules(modulesDir);
  const builtin = builtins(modulesDir);
  const order = [];
  const seen = new Set();
  const missing = [];
  const visit = (name, depth) => {
    if (seen.has(name) || depth > 32) return;
    seen.add(name);
    const file = files.get(name);
    if (!file) {
      if (!builtin.has(name)) missing.push(name);
      return;
    }
    const data = readModule(file);
    const dep = modinfo(data).find((kv) => kv.startsWith('depends='));
    for (const d of (dep?.slice(8) ?? '').split(',').filter(Boolean)) visit(norm(d), depth + 1);
    order.push({ name, file, data, size: data.length });
  };
  for (const w of wanted) visit(norm(w), 0);
  return { modules: order, missing };
}

export function fileSize(p) {
  return statSync(p).size;
}
