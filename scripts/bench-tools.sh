#!/bin/sh
# Install the external tools bench 2 compares cascade with: udpcast (udp-sender/udp-receiver,
# the multicast row) and aria2 (aria2c, the BitTorrent swarm row). Debian/Ubuntu, apt-get, root.
# Idempotent: a tool already on PATH is left alone. Prints what it did.
#
#   sudo scripts/bench-tools.sh
set -eu

need=""
check() { # check COMMAND PACKAGE
  if command -v "$1" >/dev/null 2>&1; then
    echo "bench-tools: $1 already installed ($(command -v "$1"))"
  else
    need="$need $2"
  fi
}
check udp-sender udpcast
check aria2c aria2

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
for c in udp-sender aria2c; do
  command -v "$c" >/dev/null 2>&1 && echo "bench-tools: $c installed ($(command -v "$c"))"
done
