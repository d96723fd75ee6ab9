#!/usr/bin/env bash
# Installs a Vulkan driver Dawn accepts (Mesa >= 24 lavapipe from bookworm-backports) when none is usable.
# Idempotent: does nothing when a Mesa >= 24 lavapipe ICD is already installed. See shared/DAWN.md.
set -euo pipefail
have_lavapipe() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 24 && dpkg -s libvulkan1 >/dev/null 2>&1
}
if have_lavapipe; then exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
src=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$src" ]; then
  $SUDO tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/tmp/mm-apt.log 2>&1 || { cat /tmp/mm-apt.log; exit 1; }
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >>/tmp/mm-apt.log 2>&1 || { cat /tmp/mm-apt.log; exit 1; }
have_lavapipe || { echo "Mesa >= 24 lavapipe did not install; see /tmp/mm-apt.log" >&2; exit 1; }
