/** Names of common GPT partition type GUIDs and MBR partition type bytes (for reports and warnings). */

export const GPT_TYPES: Readonly<Record<string, string>> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI system',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  '44479540-F297-41B2-9AF7-D131D5F0458A': 'Linux root (x86)',
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': 'Linux root (ARM64)',
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'Linux /home',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'Linux RAID',
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'Linux LUKS',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'Windows recovery',
  '5808C8AA-7E8F-42E0-85D2-E1E90434CFB3': 'Windows LDM metadata',
  'AF9B60A0-1431-4F62-BC68-3311714A69AD': 'Windows LDM data',
  '48465300-0000-11AA-AA11-00306543ECAC': 'Apple HFS+',
  '7C3457EF-0000-11AA-AA11-00306543ECAC': 'Apple APFS',
  '516E7CB4-6ECF-11D6-8FF8-00022D09712B': 'FreeBSD UFS',
};

export const MBR_TYPES: Readonly<Record<number, string>> = {
  0x01: 'FAT12',
  0x04: 'FAT16 <32M',
  0x06: 'FAT16',
  0x07: 'NTFS/exFAT',
  0x0b: 'FAT32',
  0x0c: 'FAT32 (LBA)',
  0x0e: 'FAT16 (LBA)',
  0x11: 'hidden FAT12',
  0x17: 'hidden NTFS',
  0x1b: 'hidden FAT32',
  0x1c: 'hidden FAT32 (LBA)',
  0x27: 'Windows recovery',
  0x82: 'Linux swap',
  0x83: 'Linux',
  0x8e: 'Linux LVM',
  0xa5: 'FreeBSD',
  0xef: 'EFI system',
  0xfd: 'Linux RAID',
};

/** MBR types that hold an extended-partition chain rather than a filesystem. */
export const MBR_EXTENDED: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);

/** A GUID in its mixed-endian on-disk form, as the usual upper-case text. */
export function guidText(b: Buffer, at: number): string {
  const hex = (from: number, to: number): string => b.toString('hex', at + from, at + to);
  const le = (from: number, to: number): string =>
    Buffer.from(b.subarray(at + from, at + to))
      .reverse()
      .toString('hex');
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${hex(8, 10)}-${hex(10, 16)}`.toUpperCase();
}
