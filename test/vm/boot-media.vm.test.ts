/**
 * npm run test:vm — the boot media (npm run boot-media) image real (virtual) machines.
 *
 * In a network namespace of its own (bridge 10.77.0.1/24, one tap per guest) it runs dnsmasq
 * (DHCP + TFTP with dist/boot/dnsmasq-pxe.conf), a coordinator with discovery and a seeder of an
 * 8 MiB disk image whose boot sector prints BOOT_LINE on the serial port. Guests (QEMU, TCG):
 *   kernel  -kernel/-initrd of dist/boot, cascade.target=/dev/vda, e1000 NIC, virtio disk
 *   usb     dist/boot/cascade-boot.iso as a USB stick, target auto, e1000e NIC, SATA (AHCI) disk
 *   pxe     network boot (-boot n, QEMU's iPXE ROM → dnsmasq → cascade.ipxe), target auto, NVMe disk
 *   pxelinux network boot as plain PXE firmware does: dnsmasq → pxelinux.0 → pxelinux.cfg/default,
 *            target auto, e1000 NIC, virtio-scsi disk
 *   usb-uefi the same stick on UEFI firmware (OVMF: GRUB from the ISO's EFI image), vmxnet3 NIC
 *   uefi    UEFI firmware (OVMF) network boot: dnsmasq → snponly.efi → cascade.ipxe, virtio
 *   refuse  -kernel, target auto with two virtio disks: must refuse on its console, stay up, retry
 * Each imaged guest reboots (QEMU runs with -no-reboot, so it exits); the test then starts it again
 * from its own disk alone (BIOS firmware: the test image has an MBR boot sector, no EFI loader)
 * and waits for BOOT_LINE. Needs root and qemu-system-x86_64, else skips.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BOOT_LINE, bootableImage, bootSector } from './boot-sector.js';
import { LabNet, qemuArgs, vmSkipReason, type Proc } from './vm-lab.js';

const root = resolve(import.meta.dirname, '../..');
const boot = join(root, 'dist/boot');
const HOST = '10.77.0.1';
const SESSION = '10.77.0.255';
const MiB = 1024 * 1024;
const OVMF = '/usr/share/ovmf/OVMF.fd';

/** Installs the tools (as root), builds the media; returns why the test cannot run, or null. */
function prepare(): string | null {
  if (process.getuid?.() === 0) {
    const deps = spawnSync('sh', [join(root, 'scripts/boot-media/install-deps.sh'), 'vm'], {
      stdio: 'inherit',
      timeout: 600_000,
    });
    if (deps.status !== 0) return 'install-deps.sh vm failed (see above)';
  }
  const reason = vmSkipReason();
  if (reason) return reason;
  const t0 = Date.now();
  const b = spawnSync('node', [join(root, 'scripts/boot-media/build.mjs')], { encoding: 'utf8', timeout: 900_000 });
  process.stdout.write(`${b.stdout}${b.stderr}`);
  // Exit 3: an input is missing (tools, or no way to fetch the kernel package): not a failure here.
  if (b.status === 3) return 'the boot media cannot be built on this machine (see above)';
  assert.equal(b.status, 0, `npm run boot-media failed:\n${b.stderr}`);
  process.stdout.write(`boot media built in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return null;
}

const skip = prepare();
if (skip) process.stdout.write(`test:vm skipped: ${skip}\n`);

interface Guest {
  name: string;
  path: string;
  mac: string;
  proc?: Proc;
  disk: string;
  /** QEMU options for the guest's own disk (the same controller when it boots it again). */
  diskArgs: string[];
}

const appendLine = (): string => /APPEND (.*)/.exec(readFileSync(join(boot, 'pxelinux.cfg/default'), 'utf8'))![1]!;

describe('boot media on QEMU guests', { skip: skip ?? false }, () => {
  let work = '';
  const lab = new LabNet(HOST, 7);
  const guests: Guest[] = [];
  let coordinator: Proc;
  let refuse: Proc;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'cascade-vm-'));
    chmodSync(work, 0o755); // dnsmasq drops to nobody
    writeFileSync(join(work, 'image.img'), bootableImage(8 * MiB));
    lab.up();
    writeFileSync(
      join(work, 'dnsmasq.conf'),
      [
        `conf-file=${boot}/dnsmasq-pxe.conf`,
        `tftp-root=${boot}`,
        'interface=br0',
        'bind-interfaces',
        'dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h',
        `dhcp-leasefile=${work}/leases`,
        // Test only: QEMU's NIC ROMs are all iPXE; this guest is sent pxelinux.0 as plain PXE
        // firmware would be (dnsmasq checks the dhcp-boot lines read last first).
        'dhcp-host=52:54:00:77:00:05,set:plainpxe',
        'dhcp-boot=tag:plainpxe,pxelinux.0',
        '',
      ].join('\n'),
    );
    const dns = lab.start(
      'dnsmasq',
      ['dnsmasq', '-k', `--conf-file=${work}/dnsmasq.conf`, '--log-facility=-'],
      join(work, 'dnsmasq.log'),
    );
    await dns.waitFor(/TFTP root is/, 20_000);
    const bundle = join(root, 'dist/cascade.mjs');
    coordinator = lab.start(
      'coordinator',
      ['node', bundle, 'coordinator', '--listen', `${HOST}:7770`, '--discovery', '--log-format', 'json'],
      join(work, 'coordinator.log'),
    );
    await coordinator.waitFor(/coordinator listening/, 30_000);
    const seeder = lab.start(
      'seeder',
      [
        'node',
        bundle,
        'seed',
        join(work, 'image.img'),
        '--coordinator',
        `ws://${HOST}:7770`,
        '--session',
        SESSION,
        '--listen',
        `${HOST}:0`,
        '--end-count',
        '6',
        '--log-format',
        'json',
      ],
      join(work, 'seeder.log'),
    );
    await coordinator.waitFor(/session opened/, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nseeder:\n${seeder.tail()}`);
    });
  });

  after(async () => {
    await lab.down();
    if (process.env.CASCADE_VM_KEEP) process.stdout.write(`logs kept in ${work}\n`);
    else if (work) rmSync(work, { recursive: true, force: true });
  });

  it("README's boot entries are the built ones, line for line", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const dnsmasq = readFileSync(join(boot, 'dnsmasq-pxe.conf'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .join('\n');
    for (const [what, text] of [
      ['pxelinux.cfg/default', readFileSync(join(boot, 'pxelinux.cfg/default'), 'utf8')],
      ['cascade.ipxe', readFileSync(join(boot, 'cascade.ipxe'), 'utf8')],
      ['dnsmasq-pxe.conf', `${dnsmasq}\n`],
    ] as const)
      assert.ok(readme.includes(`\n${text}\`\`\``), `README shows ${what} as built:\n${text}`);
  });

  it('images six guests (kernel, USB stick on BIOS and UEFI, iPXE, pxelinux, UEFI PXE) that then boot their new disk; a two-disk guest refuses', async () => {
    const disk = (name: string, mib = 16): string => {
      const f = join(work, `${name}.img`);
      writeFileSync(f, Buffer.alloc(0));
      spawnSync('truncate', ['-s', `${mib}M`, f]);
      return f;
    };
    const append = appendLine();
    const kernel = ['-kernel', join(boot, 'vmlinuz'), '-initrd', join(boot, 'initrd.img')];
    const raw = (f: string, id: string): string[] => ['-drive', `file=${f},format=raw,if=none,id=${id}`];
    // The hybrid ISO as a USB stick, first in the boot order; writes to it go to a throwaway overlay.
    const stick = [
      '-drive',
      `file=${join(boot, 'cascade-boot.iso')},format=raw,if=none,id=stick,snapshot=on`,
      '-device',
      'qemu-xhci',
      '-device',
      'usb-storage,drive=stick,bootindex=0',
    ];

    const g1 = disk('kernel');
    guests.push({
      name: 'kernel',
      path: '-kernel, e1000, virtio disk',
      mac: '52:54:00:77:00:01',
      disk: g1,
      diskArgs: [...raw(g1, 'd0'), '-device', 'virtio-blk-pci,drive=d0'],
    });
    const g2 = disk('usb');
    guests.push({
      name: 'usb',
      path: 'USB stick (ISO), e1000e, SATA disk',
      mac: '52:54:00:77:00:02',
      disk: g2,
      diskArgs: [...raw(g2, 'd0'), '-device', 'ahci,id=ahci', '-device', 'ide-hd,drive=d0,bus=ahci.0'],
    });
    const g3 = disk('pxe');
    guests.push({
      name: 'pxe',
      path: 'PXE (iPXE), virtio-net, NVMe disk',
      mac: '52:54:00:77:00:03',
      disk: g3,
      diskArgs: [...raw(g3, 'd0'), '-device', 'nvme,drive=d0,serial=cascade3'],
    });

    const g5 = disk('pxelinux');
    guests.push({
      name: 'pxelinux',
      path: 'PXE (pxelinux), e1000, virtio-scsi disk',
      mac: '52:54:00:77:00:05',
      disk: g5,
      diskArgs: [...raw(g5, 'd0'), '-device', 'virtio-scsi-pci,id=scsi', '-device', 'scsi-hd,drive=d0,bus=scsi.0'],
    });

    const g6 = disk('uefi');
    guests.push({
      name: 'uefi',
      path: 'UEFI PXE (OVMF → snponly.efi), virtio',
      mac: '52:54:00:77:00:06',
      disk: g6,
      diskArgs: [...raw(g6, 'd0'), '-device', 'virtio-blk-pci,drive=d0'],
    });

    const g7 = disk('usb-uefi');
    guests.push({
      name: 'usb-uefi',
      path: 'USB stick (ISO) on UEFI, vmxnet3, virtio',
      mac: '52:54:00:77:00:07',
      disk: g7,
      diskArgs: [...raw(g7, 'd0'), '-device', 'virtio-blk-pci,drive=d0'],
    });

    const [k, u, p, x, e, v] = guests as [Guest, Guest, Guest, Guest, Guest, Guest];
    v.proc = lab.start(
      'usb-uefi',
      [...qemuArgs(v.mac, 'vmxnet3', 7), '-bios', OVMF, ...v.diskArgs, ...stick],
      join(work, 'usb-uefi.serial'),
    );
    // UEFI firmware with its own virtio-net driver (no iPXE ROM): it is sent snponly.efi first.
    e.proc = lab.start(
      'uefi',
      [...qemuArgs(e.mac, 'virtio-net-pci,romfile=,bootindex=1', 6), '-bios', OVMF, ...e.diskArgs],
      join(work, 'uefi.serial'),
    );
    x.proc = lab.start(
      'pxelinux',
      [...qemuArgs(x.mac, 'e1000', 5), '-boot', 'n', ...x.diskArgs],
      join(work, 'pxelinux.serial'),
    );
    k.proc = lab.start(
      'kernel',
      [
        ...qemuArgs(k.mac, 'e1000', 1),
        ...kernel,
        '-append',
        `${append} cascade.target=/dev/vda console=ttyS0,115200`,
        ...k.diskArgs,
      ],
      join(work, 'kernel.serial'),
    );
    u.proc = lab.start('usb', [...qemuArgs(u.mac, 'e1000e', 2), ...u.diskArgs, ...stick], join(work, 'usb.serial'));
    p.proc = lab.start(
      'pxe',
      [...qemuArgs(p.mac, 'virtio-net-pci', 3), '-boot', 'n', ...p.diskArgs],
      join(work, 'pxe.serial'),
    );
    const r1 = disk('refuse-a');
    const r2 = disk('refuse-b');
    refuse = lab.start(
      'refuse',
      [
        ...qemuArgs('52:54:00:77:00:04', 'virtio-net-pci', 4),
        ...kernel,
        '-append',
        `${append} cascade.retry=5s console=ttyS0,115200`,
        ...raw(r1, 'd0'),
        '-device',
        'virtio-blk-pci,drive=d0',
        ...raw(r2, 'd1'),
        '-device',
        'virtio-blk-pci,drive=d1',
      ],
      join(work, 'refuse.serial'),
    );

    // The two-disk guest: a clear refusal on its console, then it stays up and waits to retry.
    const why = await refuse.waitFor(/cascade: FAILED: .*refuses to choose: 2 disks/, 300_000);
    assert.match(why.text, /\/dev\/vda .*\/dev\/vdb|\/dev\/vdb .*\/dev\/vda/);
    await refuse.waitFor(/stays up and tries again/, 30_000);
    await refuse.waitFor(/retrying in 5 s/, 30_000);
    // cascade.retry=5s: it tries again on schedule, and refuses again.
    const t = Date.now();
    while (refuse.lines.filter((l) => /cascade: FAILED: .*refuses to choose/.test(l.text)).length < 2) {
      assert.ok(Date.now() - t < 120_000, `no retry within 120 s:\n${refuse.tail()}`);
      await sleep(500);
    }
    assert.ok(refuse.running, 'the refusing guest must stay up');
    assert.ok(!refuse.lines.some((l) => /cascade: imaging/.test(l.text)), 'the refusing guest must not image');

    // Each guest: imaged, verified, reboots (QEMU exits with -no-reboot).
    for (const g of guests) {
      await g.proc!.waitFor(/cascade: imaged \/dev\/\S+ and verified/, 600_000);
      await g.proc!.waitExit(60_000);
    }
    for (const g of [u, v])
      assert.ok(
        g.proc!.lines.some((l) => /not a target: \/dev\/sd[a-z] is the boot medium/.test(l.text)),
        `${g.name}: the USB stick was seen and skipped`,
      );
    for (const g of guests)
      assert.deepEqual(readFileSync(g.disk).subarray(0, 512), bootSector(), `${g.name}: its disk holds the image`);

    // Power on again from the guest's own disk only: the received boot sector prints its line.
    const reboots: Record<string, number> = {};
    await Promise.all(
      guests.map(async (g) => {
        const again = lab.start(
          `${g.name}-disk`,
          [...qemuArgs(null, '', null), ...g.diskArgs],
          join(work, `${g.name}-disk.serial`),
        );
        const hit = await again.waitFor(new RegExp(BOOT_LINE), 120_000);
        reboots[g.name] = hit.at - again.startedAt;
        await again.stop();
      }),
    );
    report(guests, reboots);
  });

  /** Power-on → imaged per guest: the coordinator's `finished` log line for the guest's name. */
  function report(gs: Guest[], reboots: Record<string, number>): void {
    const finished = new Map<string, number>();
    for (const l of coordinator.lines) {
      try {
        const j = JSON.parse(l.text) as { msg?: string; peer?: string; time?: number };
        if (j.msg === 'finished' && j.peer && j.time) finished.set(j.peer, j.time);
      } catch {
        /* not JSON */
      }
    }
    process.stdout.write('guest    boot path                                  imaged   rebooting   new disk booted\n');
    for (const g of gs) {
      const host = `pc-${g.mac.replace(/:/g, '').slice(-6)}`;
      const imaged = finished.get(host);
      const rebooting = g.proc!.lines.find((l) => /cascade: imaged \//.test(l.text))!.at;
      const s = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
      process.stdout.write(
        `${g.name.padEnd(8)} ${g.path.padEnd(42)} ${s(imaged && imaged - g.proc!.startedAt).padStart(7)} ${s(rebooting - g.proc!.startedAt).padStart(10)} ${s(reboots[g.name]).padStart(12)} after power-on\n`,
      );
    }
  }
});
