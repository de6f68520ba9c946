#!/bin/sh
# Install the external tools the lab benches compare cascade with. Debian/Ubuntu, apt-get, root.
#   bench 2: udpcast (udp-sender/udp-receiver, the multicast row) and aria2 (aria2c, the swarm row)
#   bench 6: e2fsprogs (mkfs.ext4, e2fsck), ntfs-3g (mkntfs, the ntfs-3g FUSE mount, ntfsfix),
#            dosfstools, partclone (the Clonezilla row, used-block maps), zstd
# Idempotent: a tool already on PATH is left alone. Prints what it did.
#
#   sudo scripts/bench-tools.sh
set -eu

need=""
check() { # check COMMAND PACKAGE
  if command -v "$1" >/dev/null 2>&1; then
    echo "bench-tools: $1 already installed ($(command -v "$1"))"
  else
    case " $need " in *" $2 "*) ;; *) need="$need $2" ;; esac
  fi
}
check udp-sender udpcast
check aria2c aria2
check mkfs.ext4 e2fsprogs
check e2fsck e2fsprogs
check mkntfs ntfs-3g
check ntfs-3g ntfs-3g
check ntfsfix ntfs-3g
check mkfs.vfat dosfstools
check partclone.ext4 partclone
check zstd zstd

if [ -z "$need" ]; then
  echo "bench-tools: nothing to do"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-tools: need root to install:$need (run: sudo $0)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench-tools: no apt-get here; install$need with your package manager" >&2
  exit 1
fi
echo "bench-tools: installing$need with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $need >/dev/null
for c in udp-sender aria2c mkfs.ext4 mkntfs ntfs-3g mkfs.vfat partclone.ext4 partclone.ntfs zstd; do
  if command -v "$c" >/dev/null 2>&1; then
    echo "bench-tools: $c installed ($(command -v "$c"))"
  else
    echo "bench-tools: $c still missing" >&2
  fi
done
