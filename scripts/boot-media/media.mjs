// The boot entries around vmlinuz + initrd.img: pxelinux, iPXE, a dnsmasq example and the
// hybrid ISO (boots as a CD, or written to a USB stick with dd).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What every boot entry puts on the kernel command line unless --append says otherwise. */
export const DEFAULT_APPEND = 'console=ttyS0,115200 console=tty0 quiet no_timer_check cascade.target=auto';

/** The ISO's volume label: the boot script never picks a disk carrying it as its target. */
export const VOLUME_LABEL = 'CASCADE_BOOT';

const SYSLINUX_BIOS = '/usr/lib/syslinux/modules/bios';
const IPXE_EFI = '/usr/lib/ipxe/snponly.efi';

export function pxelinuxConfig(append) {
  return [
    'DEFAULT cascade',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL cascade',
    '  KERNEL vmlinuz',
    '  INITRD initrd.img',
    `  APPEND ${append}`,
    '',
  ].join('\n');
}

export function ipxeScript(append) {
  return ['#!ipxe', `kernel vmlinuz initrd=initrd.img ${append}`, 'initrd initrd.img', 'boot', ''].join('\n');
}

/**
 * dnsmasq answering PXE: plain BIOS PXE firmware gets pxelinux.0, UEFI PXE firmware gets iPXE
 * (snponly.efi), iPXE (DHCP option 175) gets the iPXE script; all then fetch vmlinuz and initrd.img
 * by TFTP from the same folder. dnsmasq tries the dhcp-boot lines read last first.
 */
export function dnsmasqConfig(tftpRoot) {
  return [
    '# cascade boot media over PXE (dnsmasq). Add a dhcp-range= line for your lab network,',
    '# or dhcp-range=NETWORK,proxy to leave addresses to the existing DHCP server.',
    'port=0',
    'enable-tftp',
    `tftp-root=${tftpRoot}`,
    'dhcp-match=set:ipxe,175',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
    'dhcp-boot=tag:!ipxe,pxelinux.0',
    'dhcp-boot=tag:efi64,tag:!ipxe,snponly.efi',
    'dhcp-boot=tag:ipxe,cascade.ipxe',
    '',
  ].join('\n');
}

/** The PXE files beside vmlinuz and initrd.img in `out` (which is the TFTP root). */
export function writePxeFiles(out, append) {
  copyFileSync('/usr/lib/PXELINUX/pxelinux.0', join(out, 'pxelinux.0'));
  copyFileSync(join(SYSLINUX_BIOS, 'ldlinux.c32'), join(out, 'ldlinux.c32'));
  mkdirSync(join(out, 'pxelinux.cfg'), { recursive: true });
  writeFileSync(join(out, 'pxelinux.cfg/default'), pxelinuxConfig(append));
  writeFileSync(join(out, 'cascade.ipxe'), ipxeScript(append));
  writeFileSync(join(out, 'dnsmasq-pxe.conf'), dnsmasqConfig('/srv/cascade-boot'));
  // iPXE for UEFI firmware, using the firmware's own NIC driver (SNP): works on any UEFI NIC.
  copyFileSync(IPXE_EFI, join(out, 'snponly.efi'));
  return ['pxelinux.0', 'ldlinux.c32', 'pxelinux.cfg/default', 'snponly.efi', 'cascade.ipxe', 'dnsmasq-pxe.conf'];
}

/** A hybrid ISO (isolinux, BIOS): boots as a CD, and as a USB stick after `dd`. Null if no xorriso. */
export function writeIso(out, append, workDir) {
  if (!existsSync('/usr/lib/ISOLINUX/isolinux.bin')) return null;
  const stage = join(workDir, 'iso');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'isolinux'), { recursive: true });
  copyFileSync('/usr/lib/ISOLINUX/isolinux.bin', join(stage, 'isolinux/isolinux.bin'));
  copyFileSync(join(SYSLINUX_BIOS, 'ldlinux.c32'), join(stage, 'isolinux/ldlinux.c32'));
  copyFileSync(join(out, 'vmlinuz'), join(stage, 'vmlinuz'));
  copyFileSync(join(out, 'initrd.img'), join(stage, 'initrd.img'));
  const cfg = pxelinuxConfig(append)
    .replace('KERNEL vmlinuz', 'KERNEL /vmlinuz')
    .replace('INITRD initrd.img', 'INITRD /initrd.img');
  writeFileSync(join(stage, 'isolinux/isolinux.cfg'), cfg);
  const iso = join(out, 'cascade-boot.iso');
  // xorriso talks on stderr even when all is well: shown only when it fails (execFileSync throws).
  execFileSync(
    'xorriso',
    [
      '-as',
      'mkisofs',
      '-quiet',
      '-o',
      iso,
      '-V',
      VOLUME_LABEL,
      '-J',
      '-R',
      '-isohybrid-mbr',
      '/usr/lib/ISOLINUX/isohdpfx.bin',
      '-c',
      'isolinux/boot.cat',
      '-b',
      'isolinux/isolinux.bin',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      stage,
    ],
    { stdio: 'pipe' },
  );
  rmSync(stage, { recursive: true, force: true });
  return iso;
}
