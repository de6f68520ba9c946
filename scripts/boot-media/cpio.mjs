// A newc ("070701") cpio archive writer for the initramfs: every entry owned by root, modes and
// device nodes as given, so building needs no root, no fakeroot and no cpio binary.
import { gzipSync } from 'node:zlib';

const pad4 = (n) => (4 - (n % 4)) % 4;

export class Cpio {
  constructor() {
    this.parts = [];
    this.ino = 1;
    this.paths = new Set();
  }

  #entry(path, mode, data = Buffer.alloc(0), rdev = [0, 0]) {
    const name = path.replace(/^\/+/, '');
    if (this.paths.has(name)) throw new Error(`cpio: ${name} added twice`);
    this.paths.add(name);
    const fields = [this.ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const head = Buffer.from(header + name + '\0', 'latin1');
    this.parts.push(head, Buffer.alloc(pad4(head.length)), data, Buffer.alloc(pad4(data.length)));
  }

  /** Directories, with their parents ("a/b/c" adds a, a/b, a/b/c once each). */
  dir(path) {
    const segs = path.replace(/^\/+/, '').split('/').filter(Boolean);
    for (let i = 1; i <= segs.length; i++) {
      const p = segs.slice(0, i).join('/');
      if (!this.paths.has(p)) this.#entry(p, 0o040755);
    }
  }

  file(path, data, mode = 0o644) {
    const parent = path.replace(/^\/+/, '').split('/').slice(0, -1).join('/');
    if (parent) this.dir(parent);
    this.#entry(path, 0o100000 | mode, Buffer.isBuffer(data) ? data : Buffer.from(data));
  }

  symlink(path, target) {
    this.#entry(path, 0o120777, Buffer.from(target));
  }

  charDev(path, major, minor, mode = 0o600) {
    this.#entry(path, 0o020000 | mode, undefined, [major, minor]);
  }

  /** The archive, gzip-compressed (the kernel unpacks gzip, xz and zstd initramfs images). */
  gzip(level = 6) {
    this.#entry('TRAILER!!!', 0);
    return gzipSync(Buffer.concat(this.parts), { level });
  }
}
