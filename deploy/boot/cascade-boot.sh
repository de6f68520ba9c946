#!/bin/sh
# cascade boot script: /init of the initramfs that `npm run boot-media` builds (dist/boot/initrd.img).
# Busybox sh. Everything comes from the kernel command line:
#
#   cascade.target=/dev/sda | auto       disk to image; auto = the only non-removable disk that is
#                                        not the boot medium (refuses when there are several)
#   cascade.coordinator=ws://HOST:7770   optional: without it the coordinator is found by UDP broadcast
#   cascade.session=NAME                 optional: defaults to the subnet's broadcast address
#   cascade.on-complete=reboot           after a verified image: reboot (default) | poweroff | shell |
#                                        any command (run with sh -c)
#   cascade.retry=60s                    after a failure: wait this long, then try again (default 60s)
#   cascade.capacity=3 cascade.rate=…    as the flags of `cascade peer`, which reads them itself
#
# Flow: mount /proc /sys /dev, load the disk and NIC modules, DHCP on every wired interface, find
# the coordinator, set the clock from it, pick the target, run the peer, flush, on-complete. A
# failure is explained on every console and retried on schedule; the machine never reboots into it.
set -u
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
CASCADE=${CASCADE_DIR:-/cascade}
NODE=${CASCADE_NODE:-node}
RUN=/run/cascade

# Every message goes to every console (screen and serial), not only to /dev/console.
CONSOLES=
say() {
  for c in $CONSOLES; do echo "cascade: $*" >"/dev/$c" 2>/dev/null; done
  [ -n "$CONSOLES" ] || echo "cascade: $*" >&2
}

mount_basics() {
  mountpoint -q /proc 2>/dev/null || mount -t proc proc /proc
  mountpoint -q /sys 2>/dev/null || mount -t sysfs sysfs /sys
  mountpoint -q /dev 2>/dev/null || mount -t devtmpfs devtmpfs /dev
  mkdir -p /run /tmp "$RUN" /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
  CONSOLES=$(awk '{print $1}' /proc/consoles 2>/dev/null | tr '\n' ' ')
  ip link set lo up 2>/dev/null
}

# Modules in dependency order (modules.order, written by the build); errors are expected for
# drivers of hardware that is not there, so only the count is shown.
load_modules() {
  [ -f "$CASCADE/modules.order" ] || return 0
  n=0
  while read -r m; do insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null && n=$((n + 1)); done <"$CASCADE/modules.order"
  say "loaded $n kernel modules"
}

# Wait (bounded) until the set of block devices and NICs stops changing: USB and some disk
# controllers announce their devices a little after the driver loads.
settle() {
  last= same=0 i=0
  while [ "$i" -lt "${1:-20}" ] && [ "$same" -lt 3 ]; do
    now=$(ls /sys/block /sys/class/net 2>/dev/null | tr '\n' ' ')
    if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
    last=$now i=$((i + 1))
    sleep 1
  done
}

wired_ifaces() {
  for d in /sys/class/net/*; do
    [ -e "$d/device" ] || continue       # physical NICs only (not lo, bridges, tunnels)
    [ -d "$d/wireless" ] && continue
    echo "${d##*/}"
  done
}

network_up() {
  [ -n "$(wired_ifaces)" ] || return 0
  for i in $(wired_ifaces); do
    ip link set "$i" up
    [ -e "$RUN/dhcp.$i" ] && continue
    : >"$RUN/dhcp.$i"
    # In the foreground of a background job: keeps renewing, and keeps asking when nobody answers.
    udhcpc -f -i "$i" -s "$CASCADE/udhcpc.script" -t 5 -T 2 -A 5 -x "hostname:$(hostname)" >/dev/null 2>&1 &
  done
  i=0
  while [ "$i" -lt 60 ] && ! ip -4 -o addr show scope global | grep -q inet; do
    i=$((i + 1))
    sleep 1
  done
}

# A unique hostname from the first MAC (boot media all share one image): pc-5400a1b2c3.
name_machine() {
  first=$(wired_ifaces | head -n 1)
  mac=$(cat "/sys/class/net/$first/address" 2>/dev/null)
  [ -n "$mac" ] && hostname "pc-$(echo "$mac" | tr -d : | tail -c 7)"
}

# One line for the console. The peer reports the same (MACs, DMI product and serial, IPs) to the
# coordinator in its hello.
identity() {
  dmi=$(cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')
  serial=$(cat /sys/class/dmi/id/product_serial 2>/dev/null)
  macs=$(for i in $(wired_ifaces); do cat "/sys/class/net/$i/address"; done | tr '\n' ' ' | sed 's/ *$//')
  ips=$(ip -4 -o addr show scope global | awk '{print $4}' | tr '\n' ' ' | sed 's/ *$//')
  say "this is $(hostname): ${dmi:-unknown model}${serial:+, serial $serial}, MAC ${macs:-none}, IP ${ips:-none}"
}

# cascade.target=auto: the only non-removable, writable disk that is not the boot medium (the
# cascade USB stick or CD, recognised by its volume label CASCADE_BOOT).
pick_target() {
  found= count=0 list=
  for b in /sys/block/*; do
    n=${b##*/}
    case "$n" in loop* | ram* | zram* | sr* | fd* | dm-* | md* | nbd* | mtdblock*) continue ;; esac
    size=$(cat "$b/size" 2>/dev/null)
    [ "${size:-0}" -gt 0 ] || continue
    if [ "$(dd if="/dev/$n" bs=1 skip=32808 count=12 2>/dev/null)" = CASCADE_BOOT ]; then
      say "not a target: /dev/$n is the boot medium (CASCADE_BOOT)"
      continue
    fi
    [ "$(cat "$b/removable" 2>/dev/null)" = 1 ] && continue
    [ "$(cat "$b/ro" 2>/dev/null)" = 1 ] && continue
    model=$(cat "$b/device/model" 2>/dev/null | sed 's/ *$//')
    list="$list /dev/$n ($((size / 2048)) MiB${model:+ $model})"
    found=/dev/$n count=$((count + 1))
  done
  if [ "$count" = 1 ]; then TARGET=$found; return 0; fi
  if [ "$count" = 0 ]; then
    WHY="cascade.target=auto found no disk to image (removable disks and the boot medium are never chosen)"
  else
    WHY="cascade.target=auto refuses to choose: $count disks could be the target:$list. Give cascade.target=/dev/NAME on the kernel command line"
  fi
  return 1
}

explain() {
  case "$1" in
    2) echo "bad configuration: check the cascade.* parameters on the kernel command line" ;;
    3) echo "the target disk is unusable (missing, too small, mounted or the system disk)" ;;
    4) echo "the image could not be verified after retries" ;;
    5) echo "the session ended before this machine was imaged" ;;
    *) echo "the peer failed (exit $1)" ;;
  esac
}

# One attempt: returns 0 once imaged, else sets WHY.
attempt() {
  WHY=
  "$NODE" "$CASCADE/boot-helper.mjs" params /proc/cmdline "$RUN/cmdline" >"$RUN/params" || { WHY="cannot read the kernel command line"; return 1; }
  . "$RUN/params"
  TARGET=$CB_TARGET
  if [ -z "$TARGET" ]; then WHY="no cascade.target= on the kernel command line (a device, or auto)"; return 1; fi
  if [ "$TARGET" = auto ]; then pick_target || return 1; fi
  [ -b "$TARGET" ] || { WHY="the target $TARGET is not a block device on this machine"; return 1; }
  say "target: $TARGET ($(($(cat "/sys/class/block/${TARGET##*/}/size") / 2048)) MiB)"
  network_up
  [ -n "$(wired_ifaces)" ] || { WHY="no network: no wired network interface was found (is its driver missing?)"; return 1; }
  ip -4 -o addr show scope global | grep -q inet || { WHY="no network: no wired interface got an address by DHCP"; return 1; }
  "$NODE" "$CASCADE/boot-helper.mjs" find >"$RUN/coordinator" || { WHY="no coordinator found (see above)"; return 1; }
  . "$RUN/coordinator"
  say "coordinator: $CB_COORDINATOR"
  if now=$("$NODE" "$CASCADE/boot-helper.mjs" clock "$CB_COORDINATOR") && date -u -s "@$now" >/dev/null; then
    say "clock set from the coordinator: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  else
    say "could not read the coordinator's clock; going on with $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  fi
  say "imaging $TARGET"
  rm -f "$RUN/report.json"
  CASCADE_COORDINATOR=$CB_COORDINATOR "$NODE" "$CASCADE/cascade.mjs" peer --cmdline-file "$RUN/cmdline" \
    --target "$TARGET" --report "$RUN/report.json"
  code=$?
  sync
  blockdev --flushbufs "$TARGET" 2>/dev/null
  [ "$code" = 0 ] && return 0
  detail=$(sed -n 's/.*"error": "\(.*\)".*/\1/p' "$RUN/report.json" 2>/dev/null)
  WHY="$(explain "$code")${detail:+: $detail}"
  return 1
}

on_complete() {
  case "${CB_ON_COMPLETE:-reboot}" in
    reboot) say "imaged; rebooting into the new system"; sleep 2; reboot -f ;;
    poweroff) say "imaged; powering off"; sleep 2; poweroff -f ;;
    shell) say "imaged; here is a shell" ;;
    *) say "imaged; running: $CB_ON_COMPLETE"; sh -c "$CB_ON_COMPLETE" ;;
  esac
}

# cascade.retry in whole seconds: 90, 90s, 2m, 1h; anything else is 60; never less than 5.
seconds() {
  n=$1 mult=1
  case "$n" in
    *h) n=${n%h} mult=3600 ;;
    *m) n=${n%m} mult=60 ;;
    *s) n=${n%s} ;;
  esac
  case "$n" in '' | *[!0-9]*) n=60 mult=1 ;; esac
  n=$((n * mult))
  [ "$n" -ge 5 ] || n=5
  echo "$n"
}

uptime_s() { cut -d. -f1 /proc/uptime; }

# The technician may press Enter during the wait to get a shell; leaving it retries at once. When
# the console gives no input at all (read fails at once), the wait is still served in full.
wait_or_shell() {
  say "retrying in $1 s (cascade.retry=); press Enter for a shell"
  start=$(uptime_s)
  if read -r -t "$1" _ 2>/dev/null; then
    setsid cttyhack sh
    return
  fi
  left=$(($1 - ($(uptime_s) - start)))
  [ "$left" -gt 0 ] && sleep "$left"
}

main() {
  mount_basics
  say "boot media starting (kernel $(uname -r))"
  load_modules
  settle 15
  name_machine
  network_up
  identity
  while :; do
    if attempt; then
      say "imaged $TARGET and verified"
      on_complete
      while :; do setsid cttyhack sh; done
    fi
    say "FAILED: $WHY"
    say "this machine stays up and tries again; it does not reboot into a failure"
    wait_or_shell "$(seconds "${CB_RETRY:-60s}")"
    settle 5
  done
}

main "$@"
