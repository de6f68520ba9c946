// The boot entries around vmlinuz + initrd.img: pxelinux, iPXE, a dnsmasq example and the
// hybrid ISO (boots as a CD, or written to a USB stick with dd).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** The GRUB menu of the ISO's UEFI boot: the same kernel, initrd and command line as isolinux. */
export function grubConfig(append) {
  return ['set timeout=0', 'menuentry "cascade" {', `  linux /vmlinuz ${append}`, '  initrd /initrd.img', '}', ''].join(
    '\n',
  );
}

/**
 * The UEFI loader: a standalone GRUB (BOOTX64.EFI) that finds the medium by its label and reads
 * /boot/grub/grub.cfg from it, in a small FAT image (the El Torito EFI boot image). Null when
 * grub-mkstandalone, mkfs.vfat or mtools are missing.
 */
function efiBootImage(stage, workDir) {
  const have = (cmd) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!['grub-mkstandalone', 'mkfs.vfat', 'mmd', 'mcopy'].every(have)) return null;
  const embed = join(workDir, 'grub-embed.cfg');
  writeFileSync(
    embed,
    `search --no-floppy --set=root --label ${VOLUME_LABEL}\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n`,
  );
  const efi = join(workDir, 'BOOTX64.EFI');
  const modules = 'part_gpt part_msdos iso9660 fat search search_label linux normal configfile echo all_video';
  execFileSync(
    'grub-mkstandalone',
    [
      '-O',
      'x86_64-efi',
      '-o',
      efi,
      `--install-modules=${modules}`,
      '--modules=' + modules,
      '--locales=',
      '--fonts=',
      '--themes=',
      `boot/grub/grub.cfg=${embed}`,
    ],
    { stdio: 'pipe' },
  );
  const img = join(stage, 'efiboot.img');
  const kib = Math.ceil(statSync(efi).size / 1024) + 512;
  execFileSync('mkfs.vfat', ['-C', '-n', 'CASCADE_EFI', img, String(kib)], { stdio: 'pipe' });
  execFileSync('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT'], { stdio: 'pipe' });
  execFileSync('mcopy', ['-i', img, efi, '::/EFI/BOOT/BOOTX64.EFI'], { stdio: 'pipe' });
  return 'efiboot.img';
}

/**
 * A hybrid ISO: boots as a CD, and as a USB stick after `dd`; by isolinux on BIOS machines and by
 * GRUB on UEFI ones (when the GRUB tools are there). Returns { iso, uefi }, or null without isolinux.
 */
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
  mkdirSync(join(stage, 'boot/grub'), { recursive: true });
  writeFileSync(join(stage, 'boot/grub/grub.cfg'), grubConfig(append));
  const efiImage = efiBootImage(stage, workDir);
  const efiArgs = efiImage ? ['-eltorito-alt-boot', '-e', efiImage, '-no-emul-boot', '-isohybrid-gpt-basdat'] : [];
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
      ...efiArgs,
      stage,
    ],
    { stdio: 'pipe' },
  );
  rmSync(stage, { recursive: true, force: true });
  return { iso, uefi: Boolean(efiImage) };
}
