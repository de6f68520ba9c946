#!/bin/sh
# cascade boot script for a Linux live or initramfs environment (busybox sh is enough).
#
# Boot media carry: a kernel, an initramfs (or live root) with `node` (>= 20.19), this script and
# cascade.mjs (from `npm run bundle`). Everything else comes from the kernel command line, which
# `cascade peer` reads itself:
#
#   cascade.target=/dev/sda              disk to image (required)
#   cascade.coordinator=ws://HOST:7770   optional: without it the peer finds one by UDP broadcast
#   cascade.session=NAME                 optional: defaults to the subnet's broadcast address
#   cascade.on-complete="reboot -f"      what to do when the session ends
#   cascade.capacity=3 cascade.rate=…    as the flags of `cascade peer`
#
# This script only brings the network up, runs the peer, and explains a failure on the console.
set -u

CASCADE=${CASCADE_BUNDLE:-/cascade/cascade.mjs}
NODE=${CASCADE_NODE:-node}
IFACE_WAIT=${CASCADE_IFACE_WAIT:-60}

log() { echo "cascade-boot: $*" >&2; }

mountpoint -q /proc 2>/dev/null || mount -t proc proc /proc
mountpoint -q /sys 2>/dev/null || mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev

# Bring every wired interface up and ask for an address by DHCP (udhcpc in busybox, else dhclient).
for dev in /sys/class/net/*; do
  name=${dev##*/}
  [ "$name" = lo ] && continue
  ip link set "$name" up 2>/dev/null
  if command -v udhcpc >/dev/null 2>&1; then
    udhcpc -i "$name" -n -q -t 5 >/dev/null 2>&1 &
  elif command -v dhclient >/dev/null 2>&1; then
    dhclient -1 "$name" >/dev/null 2>&1 &
  fi
done
ip link set lo up

# Wait (bounded) for an IPv4 address: discovery and the default session name need one.
i=0
while [ "$i" -lt "$IFACE_WAIT" ]; do
  ip -4 -o addr show scope global | grep -q inet && break
  i=$((i + 1))
  sleep 1
done
ip -4 -o addr show scope global | grep -q inet || log "no IPv4 address after ${IFACE_WAIT}s; trying anyway"

log "starting the peer ($(ip -4 -o addr show scope global | awk '{print $4}' | tr '\n' ' '))"
"$NODE" "$CASCADE" peer
code=$?

case "$code" in
  0) log "imaged and verified" ;;
  2) log "bad configuration: check the cascade.* parameters on the kernel command line" ;;
  3) log "the target disk is unusable (missing, too small, mounted or the system disk)" ;;
  4) log "the image could not be verified after retries" ;;
  5) log "the session ended before this machine was imaged" ;;
  *) log "the peer failed (exit $code), e.g. no coordinator found" ;;
esac

# The on-complete hook (cascade.on-complete=) has already run. Without one, a failure leaves a
# shell on the console for the technician; success powers off after a pause.
if [ "$code" -ne 0 ]; then
  log "dropping to a shell; 'exit' reboots"
  /bin/sh
  reboot -f
fi
sleep 10
poweroff -f
