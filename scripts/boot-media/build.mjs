#!/usr/bin/env node
// npm run boot-media: builds dist/boot/ — vmlinuz, initrd.img (busybox, disk and NIC modules, node
// and its libraries, the cascade bundle, the boot script as /init), PXE entries and a hybrid ISO.
//
//   node scripts/boot-media/build.mjs [--kernel-deb FILE.deb | --kernel VMLINUZ --modules DIR]
//        [--kernel-package linux-image-amd64] [--node PATH] [--append "KERNEL PARAMS"]
//        [--out dist/boot] [--no-iso] [--no-install]
//
// Default kernel: Debian's linux-image-amd64, downloaded with `apt-get download` (not installed).
// --modules is a /lib/modules/RELEASE folder. Default node: the one running this script.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { Cpio } from './cpio.mjs';
import { downloadKernelDeb, resolveModules, unpackKernelDeb, WANTED_MODULES } from './kernel.mjs';
import { DEFAULT_APPEND, writeIso, writePxeFiles } from './media.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: opt } = parseArgs({
  options: {
    'kernel-deb': { type: 'string' },
    'kernel-package': { type: 'string', default: 'linux-image-amd64' },
    kernel: { type: 'string' },
    modules: { type: 'string' },
    node: { type: 'string', default: process.execPath },
    append: { type: 'string', default: DEFAULT_APPEND },
    out: { type: 'string', default: join(root, 'dist/boot') },
    'no-iso': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
  },
});
const out = resolve(opt.out);
const work = join(root, 'dist/.boot-work');
const MiB = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const say = (s) => process.stdout.write(`${s}\n`);

/** Exit 1: the build failed. Exit 3: something it needs is missing (tools, the kernel package). */
function fail(msg, code = 1) {
  process.stderr.write(`boot-media: ${msg}\n`);
  process.exit(code);
}

function installDeps() {
  if (opt['no-install']) return;
  try {
    execFileSync('sh', [join(root, 'scripts/boot-media/install-deps.sh'), 'build'], { stdio: 'inherit' });
  } catch {
    fail('missing tools (see above); install them or run as root', 3);
  }
}

function getKernel() {
  if (opt.kernel || opt.modules) {
    if (!opt.kernel || !opt.modules) fail('--kernel and --modules go together');
    const release = opt.modules.replace(/\/+$/, '').split('/').pop();
    return { vmlinuz: resolve(opt.kernel), modulesDir: resolve(opt.modules), release, from: opt.kernel };
  }
  const deb = opt['kernel-deb']
    ? resolve(opt['kernel-deb'])
    : downloadKernelDeb(opt['kernel-package'], join(work, 'debs'));
  return { ...unpackKernelDeb(deb, join(work, 'kernel')), from: deb };
}

/** node, and the shared libraries `ldd` names for it, at the paths the loader looks for them. */
function nodeAndLibs(cpio, nodePath) {
  const ldd = execFileSync('ldd', [nodePath], { encoding: 'utf8' });
  const libs = [...ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
  let libBytes = 0;
  for (const lib of new Set(libs)) {
    const data = readFileSync(lib);
    cpio.file(lib, data, 0o755);
    libBytes += data.length;
  }
  let node = readFileSync(nodePath);
  try {
    // Debug symbols are a tenth of node's size and useless on a lab machine.
    const stripped = join(work, 'node');
    execFileSync('strip', ['-o', stripped, nodePath], { stdio: 'ignore' });
    node = readFileSync(stripped);
  } catch {
    /* no strip: take it as it is */
  }
  cpio.file('usr/bin/node', node, 0o755);
  const version = execFileSync(nodePath, ['--version'], { encoding: 'utf8' }).trim();
  return { version, nodeBytes: node.length, libs: [...new Set(libs)], libBytes };
}

function busybox(cpio) {
  const bb = '/bin/busybox';
  const data = readFileSync(bb);
  if (
    !/statically linked|not a dynamic/.test(execFileSync('sh', ['-c', `ldd ${bb} 2>&1 || true`], { encoding: 'utf8' }))
  )
    fail(`${bb} is not statically linked (install busybox-static)`);
  cpio.file('bin/busybox', data, 0o755);
  const applets = execFileSync(bb, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) {
    if (a === 'bin/busybox' || a.endsWith('/init') || a === 'linuxrc') continue;
    cpio.dir(dirname(a));
    cpio.symlink(a, '/bin/busybox');
  }
  return { bytes: data.length, applets: applets.length };
}

async function bundles() {
  execFileSync('npm', ['run', 'bundle', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const helper = join(work, 'boot-helper.mjs');
  await build({
    entryPoints: [join(root, 'scripts/boot-media/boot-helper.mjs')],
    outfile: helper,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
  return { cascade: readFileSync(join(root, 'dist/cascade.mjs')), helper: readFileSync(helper) };
}

function baseTree(cpio) {
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'root', 'etc', 'mnt', 'cascade']) cpio.dir(d);
  cpio.charDev('dev/console', 5, 1);
  cpio.charDev('dev/null', 1, 3, 0o666);
  cpio.file('etc/hosts', '127.0.0.1 localhost\n');
  cpio.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
  cpio.file('etc/group', 'root:x:0:\n');
  cpio.file('etc/resolv.conf', '');
  cpio.file('init', readFileSync(join(root, 'deploy/boot/cascade-boot.sh')), 0o755);
  cpio.file('cascade/udhcpc.script', readFileSync(join(root, 'deploy/boot/udhcpc.script')), 0o755);
}

async function main() {
  installDeps();
  if (!existsSync(opt.node)) fail(`--node ${opt.node}: no such file`);
  // Files are overwritten one by one: --out may name a folder holding other things (a TFTP root).
  mkdirSync(out, { recursive: true });
  rmSync(join(out, 'cascade-boot.iso'), { force: true });
  mkdirSync(work, { recursive: true });

  const kernel = getKernel();
  const { modules, missing } = resolveModules(kernel.modulesDir, WANTED_MODULES);
  const cpio = new Cpio();
  baseTree(cpio);
  const bb = busybox(cpio);
  const node = nodeAndLibs(cpio, opt.node);
  const { cascade, helper } = await bundles();
  cpio.file('cascade/cascade.mjs', cascade);
  cpio.file('cascade/boot-helper.mjs', helper);
  const order = [];
  let modBytes = 0;
  for (const m of modules) {
    const rel = relative(kernel.modulesDir, m.file).replace(/\.ko\.(gz|xz|zst)$/, '.ko');
    cpio.file(`lib/modules/${kernel.release}/${rel}`, m.data);
    order.push(rel);
    modBytes += m.size;
  }
  cpio.file('cascade/modules.order', `${order.join('\n')}\n`);
  writeFileSync(join(out, 'initrd.img'), cpio.gzip());
  copyFileSync(kernel.vmlinuz, join(out, 'vmlinuz'));
  const pxe = writePxeFiles(out, opt.append);
  const iso = opt['no-iso'] ? null : writeIso(out, opt.append, work);

  const size = (f) => MiB(statSync(join(out, f)).size);
  const lines = [
    `cascade boot media in ${relative(process.cwd(), out) || '.'}/ (kernel command line: ${opt.append})`,
    `  vmlinuz          ${size('vmlinuz').padStart(10)}  Linux ${kernel.release} (from ${kernel.from})`,
    `  initrd.img       ${size('initrd.img').padStart(10)}  gzip cpio, holding (uncompressed):`,
    `    node           ${MiB(node.nodeBytes).padStart(10)}  ${node.version} from ${opt.node}`,
    `    libraries      ${MiB(node.libBytes).padStart(10)}  ${node.libs.map((l) => l.split('/').pop()).join(' ')}`,
    `    busybox        ${MiB(bb.bytes).padStart(10)}  static, ${bb.applets} applets`,
    `    modules        ${MiB(modBytes).padStart(10)}  ${modules.length}: ${modules.map((m) => m.name).join(' ')}`,
    `    cascade.mjs    ${MiB(cascade.length).padStart(10)}  the one-file bundle (every role)`,
    `    boot-helper    ${MiB(helper.length).padStart(10)}  discovery and clock for /init`,
    `    /init                      deploy/boot/cascade-boot.sh`,
    ...(missing.length ? [`    (not in this kernel: ${missing.join(' ')})`] : []),
    `  PXE              ${pxe.join(' ')}`,
    iso
      ? `  cascade-boot.iso ${size('cascade-boot.iso').padStart(10)}  hybrid ISO (${iso.uefi ? 'BIOS and UEFI' : 'BIOS only'}): boot as CD, or dd to a USB stick`
      : '  (no ISO: --no-iso or no isolinux)',
  ];
  writeFileSync(join(out, 'CONTENTS.txt'), `${lines.join('\n')}\n`);
  say(lines.join('\n'));
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
