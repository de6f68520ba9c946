#!/bin/sh
# Install the filesystem tools the disk-map tests use: mkfs.ext4/debugfs/e2fsck (e2fsprogs),
# mkfs.vfat/fsck.vfat (dosfstools), mcopy/mdel/mtype (mtools), mkntfs/ntfs-3g/ntfscat/ntfsfix
# (ntfs-3g), partclone.* (partclone), sfdisk (fdisk), sgdisk (gdisk). Debian/Ubuntu, apt-get, root.
# Idempotent: does nothing when every tool is on PATH. Exit 1 (with the reason on stderr) when it
# cannot install; the tests then skip with that reason.
#
#   sudo scripts/install-fs-tools.sh
set -eu

need=""
check() { # check COMMAND PACKAGE
  if ! command -v "$1" >/dev/null 2>&1; then
    case " $need " in *" $2 "*) ;; *) need="$need $2" ;; esac
  fi
}
check mkfs.ext4 e2fsprogs
check debugfs e2fsprogs
check mkfs.vfat dosfstools
check fsck.vfat dosfstools
check mcopy mtools
check mkntfs ntfs-3g
check ntfscat ntfs-3g
check partclone.extfs partclone
check sfdisk fdisk
check sgdisk gdisk

if [ -z "$need" ]; then
  echo "install-fs-tools: nothing to do"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-fs-tools: need root to install:$need (run: sudo $0)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-fs-tools: no apt-get here; install$need with your package manager" >&2
  exit 1
fi
echo "install-fs-tools: installing$need with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $need >/dev/null
