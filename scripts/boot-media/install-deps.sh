#!/bin/sh
# Installs the Debian packages that building the boot media (and the VM test) need, when missing.
# Usage: scripts/boot-media/install-deps.sh [build|vm]
#   build: busybox-static, xorriso, isolinux, syslinux-common, pxelinux, ipxe, grub-efi-amd64-bin,
#          mtools, dosfstools (npm run boot-media)
#   vm:    the same plus qemu-system-x86, ipxe-qemu, ovmf, dnsmasq-base, iproute2 (npm run test:vm)
# Installs nothing when all are there; needs root and apt-get otherwise (else it names what is
# missing and exits 1). The kernel is not installed on this host: build.mjs downloads its package.
set -eu
pkgs='busybox-static xorriso isolinux syslinux-common pxelinux ipxe grub-efi-amd64-bin mtools dosfstools'
[ "${1:-build}" = vm ] && pkgs="$pkgs qemu-system-x86 ipxe-qemu ovmf dnsmasq-base iproute2"

missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
missing=${missing# }
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing Debian packages: $missing (install them, or run this as root on Debian)" >&2
  exit 1
fi
echo "install-deps: apt-get install $missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
  apt-get update -q >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >&2
fi
