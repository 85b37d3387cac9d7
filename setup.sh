#!/usr/bin/env bash
# Bring a Debian 12 / Raspberry Pi OS (Bookworm) machine to a working checkpoint-kiosk
# install in ./.venv. Safe to run again: it only does what is missing.
#
#   ./setup.sh          system packages, .venv, the kiosk installed in it
#   ./setup.sh --server the same plus the district server (checkpoint-server)
#   ./setup.sh --dev    kiosk, district server and the test tools (pytest, hypothesis, ...)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
dev=0; server=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --server) server=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

# System packages: Python with venv, SQLite's shell for admins, time zone data; a C
# compiler with the Python and Linux headers, because evdev (keyboard-wedge readers) is
# built from source on install.
apt_packages=(python3 python3-venv python3-pip sqlite3 tzdata ca-certificates
              gcc libc6-dev python3-dev linux-libc-dev)
# The touchscreen app: Kivy's wheel brings SDL2 but loads OpenGL/EGL (Mesa drivers, also
# for SDL's offscreen and KMS/DRM video), GBM/DRM (a Pi without a desktop), mtdev
# (touchscreens), ALSA (the sounds) and X11 (a desktop) from the system.
apt_packages+=(libgl1 libegl1 libgles2 libgl1-mesa-dri libegl-mesa0 libgbm1 libdrm2 libmtdev1 libasound2
               libx11-6 libxext6 libxrender1)
# --dev: zbar, which bench/decode_frame.py compares with the kiosk's QR decoder (pyzbar);
# gettext, whose msgfmt checks the app's translation catalogs in the tests; faketime, which
# runs a kiosk process with a wrong clock in the doctor's tests.
if [ "$dev" = 1 ]; then apt_packages+=(libzbar0 gettext faketime); fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "Installing system packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  say "System packages present: ${apt_packages[*]}"
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: $python is older than Python 3.11" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "Creating virtual environment .venv ($("$python" --version))"
  "$python" -m venv .venv
fi

extras=""; [ "$server" = 1 ] && extras="[server]"; [ "$dev" = 1 ] && extras="[dev,server]"
stamp=".venv/.checkpoint-kiosk-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) extras=$extras"
if [ -f "$stamp" ] && grep -qxF "$want" "$stamp" && .venv/bin/python -c 'import kiosk' 2>/dev/null; then
  say "checkpoint-kiosk already installed in .venv (nothing to do)"
else
  say "Installing checkpoint-kiosk$extras into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".$extras"
  echo "$want" > "$stamp"
fi
say "Ready: .venv/bin/checkpoint-kiosk --help"
