#!/usr/bin/env bash
# Bring a Debian 12 / Raspberry Pi OS (Bookworm) machine to a working checkpoint-kiosk.
# Safe to run again: it does what is missing and applies what changed in the checkout.
#
#   ./setup.sh                 the kiosk in ./.venv (a demo, a laptop): system packages too
#   ./setup.sh --dev           the kiosk, the district server and the test tools
#   sudo ./setup.sh --service  the kiosk appliance: the app starts at boot on the touchscreen
#        --headless            ... no screen: the readers only (run --headless)
#        --desktop USER        ... inside USER's desktop session instead of KMS/DRM
#   sudo ./setup.sh --server   the district server as a service on 127.0.0.1:8080
#        --postgresql          ... on a local PostgreSQL database instead of SQLite
#   sudo ./setup.sh --service --uninstall   (or --server --uninstall) remove the service and
#                              the installed code; configuration and data are kept
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
src=$PWD

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "setup.sh: $*" >&2; exit 2; }
dev=0; mode=venv; headless=0; desktop_user=""; postgresql=0; uninstall=0
while (($#)); do
  case "$1" in
    --dev) dev=1 ;;
    --service) mode=service ;;
    --server) mode=server ;;
    --headless) headless=1 ;;
    --desktop) [ $# -ge 2 ] || die "--desktop needs the desktop's login user, e.g. --desktop pi"
               desktop_user=$2; shift ;;
    --postgresql) postgresql=1 ;;
    --uninstall) uninstall=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$mode" != service ] && { [ "$headless" = 1 ] || [ -n "$desktop_user" ]; }; then
  die "--headless and --desktop go with --service"
fi
[ "$headless" = 1 ] && [ -n "$desktop_user" ] && die "choose one of --headless and --desktop"
[ "$mode" != server ] && [ "$postgresql" = 1 ] && die "--postgresql goes with --server"
[ "$mode" = venv ] && [ "$uninstall" = 1 ] && die "--uninstall goes with --service or --server"
[ "$mode" != venv ] && [ "$dev" = 1 ] && die "--dev is for the checkout's .venv, not with --service/--server"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  [ "$mode" = venv ] || { echo "setup.sh: --$mode installs system-wide: run it with sudo" >&2; exit 1; }
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

# --- what goes where (the unit files in deploy/ name the same paths) ------------------
kiosk_user=checkpoint-kiosk
kiosk_opt=/opt/checkpoint-kiosk
kiosk_etc=/etc/checkpoint-kiosk
kiosk_data=/var/lib/checkpoint-kiosk
kiosk_units=(checkpoint-kiosk.service checkpoint-kiosk-headless.service checkpoint-kiosk-sync.service
             checkpoint-kiosk-sync.timer)
kiosk_rules=/etc/udev/rules.d/70-checkpoint-kiosk-readers.rules
usb_rules=/etc/udev/rules.d/71-checkpoint-kiosk-usb.rules
desktop_unit=/etc/systemd/user/checkpoint-kiosk-desktop.service
desktop_autostart=/etc/xdg/autostart/checkpoint-kiosk.desktop
sync_dropin=/etc/systemd/system/checkpoint-kiosk-sync.service.d
server_user=checkpoint-server
server_opt=/opt/checkpoint-server
server_etc=/etc/checkpoint-server
server_data=/var/lib/checkpoint-server
# Groups of the kiosk's user: display and GPU, touchscreen and keyboard-mode readers,
# serial readers, sounds. (tty is not needed: systemd hands tty1 to the app.)
kiosk_groups=(video render input dialout audio)
systemd_running() { [ -d /run/systemd/system ]; }  # sd_booted(): false in a chroot or container

# --- system packages -----------------------------------------------------------------
# Python with venv, SQLite's shell for admins, time zone data.
apt_packages=(python3 python3-venv python3-pip sqlite3 tzdata ca-certificates)
# The kiosk only: a C compiler with the Python and Linux headers, because evdev
# (keyboard-wedge readers) is built from source. The server's dependencies are wheels.
kiosk_build=(gcc libc6-dev python3-dev linux-libc-dev)
# The touchscreen app: Kivy's wheel brings SDL2 but loads OpenGL/EGL (Mesa drivers, also
# for SDL's offscreen and KMS/DRM video), GBM/DRM (a Pi without a desktop), mtdev
# (touchscreens), ALSA (the sounds) and X11 (a desktop) from the system.
kiosk_libs=(libgl1 libegl1 libgles2 libgl1-mesa-dri libegl-mesa0 libgbm1 libdrm2 libmtdev1 libasound2
            libx11-6 libxext6 libxrender1)
case "$mode" in
  venv) apt_packages+=("${kiosk_build[@]}" "${kiosk_libs[@]}") ;;
  # The appliance: systemd and udev (for the reader rules; a minimal image may lack them).
  # dosfstools and exfatprogs: fsck for USB sticks before they are mounted (see install_usb_automount).
  service) apt_packages+=("${kiosk_build[@]}" "${kiosk_libs[@]}" systemd udev dosfstools exfatprogs) ;;
  server) apt_packages+=(systemd fonts-dejavu-core); [ "$postgresql" = 1 ] && apt_packages+=(postgresql) ;;
esac
# The server's printable enrolment page (enroll-code --png) is set in DejaVu: Vietnamese
# diacritics need a font that has them, and Pillow brings none. --dev runs the server too.

# --dev: zbar, which bench/decode_frame.py compares with the kiosk's QR decoder (pyzbar);
# gettext, whose msgfmt checks the app's translation catalogs; faketime, which runs a
# kiosk process with a wrong clock in the doctor's tests; for the install tests, a linter
# for this script (shellcheck), udevadm test on the reader rules (udev), a fresh Debian
# root to run `setup.sh --service` and `--server` in (debootstrap), systemd-analyze; FAT
# sticks on loop devices for the USB mount options (dosfstools, exfatprogs); pdftoppm
# (poppler-utils), which renders the printable card sheets to images for the camera tests;
# Debian's chromium and its chromedriver, which the web console's tests drive (tests/server/console).
# The fault campaign (faults/): FUSE 3 (fuse3: libfuse3 and fusermount3) for its power cuts
# (faults/lazyfs.py), PostgreSQL's initdb and pg_ctl for the private cluster it crashes
# (faults/private_pg.py; the package also serves the tests' database on 127.0.0.1:5432).
# valgrind, which bench/scan_instructions.py runs the scan path under (callgrind).
if [ "$dev" = 1 ]; then apt_packages+=(fonts-dejavu-core libzbar0 gettext faketime shellcheck udev debootstrap systemd dosfstools exfatprogs poppler-utils chromium chromium-driver fuse3 postgresql valgrind); fi

install_apt_packages() {
  local missing=() pkg
  for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    say "Installing system packages: ${missing[*]}"
    # Another apt (unattended-upgrades on a fresh Pi, a second setup) may hold the lock:
    # wait for it rather than fail half-installed. DPkg::Lock::Timeout covers the install;
    # `apt-get update` gives up at once on the lists lock, so it is retried for 10 minutes.
    local tries=0
    until "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq; do
      ((++tries < 60)) || die "apt-get update kept failing (see above)"
      say "apt is busy (another install?); retrying in 10 s"
      sleep 10
    done
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"
  else
    say "System packages present: ${apt_packages[*]}"
  fi
}

check_python() {
  python=${PYTHON:-python3}
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup.sh: $python is older than Python 3.11" >&2; exit 1
  fi
}

# --- the code ----------------------------------------------------------------------
# One distribution, two products chosen by its extras (see pyproject.toml): the kiosk is
# "[kiosk]", the district server "[server]"; either brings the base both need.
#
# Developer mode: an editable install in ./.venv, redone when pyproject.toml changes.
install_dev_venv() {
  if [ ! -x .venv/bin/python ]; then
    say "Creating virtual environment .venv ($("$python" --version))"
    "$python" -m venv .venv
  fi
  local extras="[kiosk]" stamp=.venv/.checkpoint-kiosk-installed want
  [ "$dev" = 1 ] && extras="[kiosk,server,dev]"
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) extras=$extras"
  if [ -f "$stamp" ] && grep -qxF "$want" "$stamp" && .venv/bin/python -c 'import kiosk' 2>/dev/null; then
    say "checkpoint-kiosk already installed in .venv (nothing to do)"
  else
    say "Installing checkpoint-kiosk$extras into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".$extras"
    echo "$want" > "$stamp"
  fi
}

# Appliance mode: a NON-editable install in OPT/venv, so the clone can live anywhere (and
# be deleted); reinstalled whenever the checkout's code or dependencies differ from what
# is installed. Built from a copy, so root never leaves build files in the user's clone.
# pip never removes a package, so a venv built for other extras is built again from
# scratch: a server venv from before the products were split held the kiosk's Kivy and
# OpenCV. Such a venv has no product file; what it holds is at least the kiosk ("[kiosk]").
install_opt_venv() {
  local opt=$1 extras=$2 stamp="$1/venv/.checkpoint-kiosk-installed" product="$1/venv/.checkpoint-product" want build
  want="$(cd "$src" && find pyproject.toml README.md kiosk drivers sync ui server -type f \
            ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1) extras=$extras"
  if [ -x "$opt/venv/bin/python" ] && [ "$(cat "$product" 2>/dev/null || echo "[kiosk]")" != "$extras" ]; then
    say "Rebuilding $opt/venv for checkpoint-kiosk$extras only"
    rm -rf "$opt/venv"
  fi
  if [ ! -x "$opt/venv/bin/python" ]; then
    say "Creating $opt/venv ($("$python" --version))"
    install -d -m 0755 "$opt"
    "$python" -m venv "$opt/venv"
  fi
  if [ -f "$stamp" ] && grep -qxF "$want" "$stamp" && "$opt/venv/bin/python" -c 'import kiosk' 2>/dev/null; then
    say "$opt/venv is up to date with this checkout"
  else
    say "Installing checkpoint-kiosk$extras into $opt/venv"
    build=$(mktemp -d)
    cp -r pyproject.toml README.md kiosk drivers sync ui server "$build/"
    "$opt/venv/bin/python" -m pip install --quiet --upgrade pip
    # --force-reinstall --no-deps for the project itself: its version number does not change
    # with every commit, and pip would keep the old code.
    "$opt/venv/bin/python" -m pip install --quiet "$build$extras"
    "$opt/venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$build"
    rm -rf "$build"
    echo "$want" > "$stamp"
  fi
  echo "$extras" > "$product"
  install -m 0644 README.md "$opt/README.md"  # the units' Documentation=, with the pages it links to
  install -d -m 0755 "$opt/docs"
  install -m 0644 docs/*.md "$opt/docs/"
}

# --- users, directories, files ---------------------------------------------------------
ensure_system_user() {  # NAME HOME: a system user with its own group and no login shell
  if getent passwd "$1" >/dev/null; then
    say "User $1 exists"
  else
    say "Creating system user $1 (home $2, no login)"
    useradd --system --user-group --home-dir "$2" --no-create-home --shell /usr/sbin/nologin "$1"
  fi
}

ensure_groups() {  # USER GROUP...: create missing groups, add USER to each
  local user=$1 group; shift
  for group in "$@"; do
    getent group "$group" >/dev/null || groupadd --system "$group"
  done
  usermod -a -G "$(IFS=,; echo "$*")" "$user"
  say "User $user is in groups: $(id -nG "$user")"
}

put_file() {  # SRC DEST MODE: install or update DEST, saying whether it changed
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    chmod "$3" "$2"
  else
    install -D -m "$3" "$1" "$2"
    say "Wrote $2"
  fi
}

put_command() {  # NAME BIN DATA: /usr/local/bin/NAME runs BIN as the owner of DATA
  sed -e "s|@NAME@|$1|g" -e "s|@BIN@|$2|g" -e "s|@DATA@|$3|g" deploy/command-as-owner.sh \
    | put_text "/usr/local/bin/$1" 0755
}

put_text() {  # DEST MODE, the content on stdin
  local tmp
  tmp=$(mktemp)
  cat > "$tmp"
  put_file "$tmp" "$1" "$2"
  rm -f "$tmp"
}

remove_paths() {
  local path
  for path in "$@"; do
    if [ -e "$path" ]; then rm -rf "$path"; say "Removed $path"; fi
  done
}

write_config_once() {  # FILE GROUP (content on stdin): a new config, never an existing one
  local file=$1 group=$2 tmp
  if [ -e "$file" ]; then
    cat >/dev/null
    say "Kept $file (never overwritten; compare with the new defaults in the checkout)"
    return
  fi
  tmp=$(mktemp)
  cat > "$tmp"
  install -D -m 0640 -o root -g "$group" "$tmp" "$file"
  rm -f "$tmp"
  say "Wrote $file: edit it, then restart the service"
}

# --- systemd -------------------------------------------------------------------------
activate() {  # enable the units; (re)start them when systemd runs, else they start at next boot
  systemctl enable --quiet "$@"
  if systemd_running; then
    systemctl daemon-reload
    systemctl restart "$@"
    say "Started: $*"
  else
    say "Enabled: $* (systemd is not running here: they start at the next boot)"
  fi
}

deactivate() {  # disable and stop units that are installed; quiet for those that are not
  local unit
  for unit in "$@"; do
    if [ -f "/etc/systemd/system/$unit" ] || [ -L "/etc/systemd/system/$unit" ]; then
      systemctl disable --quiet "$unit" 2>/dev/null || true
      if systemd_running; then systemctl stop "$unit" 2>/dev/null || true; fi
    fi
  done
}

# --- USB sticks on the appliance ---------------------------------------------------------
# Raspberry Pi OS Lite mounts no USB stick by itself: the udev rule mounts each one under
# /media/checkpoint-kiosk for the kiosk's user (systemd-mount). Not with --desktop: the
# desktop's udisks mounts them there, and two automounters would fight.
install_usb_automount() {
  put_file deploy/71-checkpoint-kiosk-usb.rules "$usb_rules" 0644
  if systemd_running && udevadm control --reload 2>/dev/null; then
    udevadm trigger --action=add --subsystem-match=block --property-match=ID_BUS=usb
    say "USB sticks plugged in now are mounted under /media/checkpoint-kiosk"
  fi
}

remove_usb_automount() {  # sticks mounted now stay mounted until they are pulled
  remove_paths "$usb_rules"
  if systemd_running; then udevadm control --reload 2>/dev/null || true; fi
}

# --- the kiosk appliance -------------------------------------------------------------
# The example config with the appliance's choices: data under /var/lib, full screen, no
# pointer. Each replacement must hit exactly one line (checked), so a changed example
# fails here instead of silently giving a kiosk the demo defaults.
kiosk_config() {
  local out
  out=$(sed -e "s|^data_dir = \"\"|data_dir = \"$kiosk_data\"|" \
            -e 's|^fullscreen = false|fullscreen = true|' \
            -e 's|^show_cursor = true|show_cursor = false|' config.example.toml)
  for line in "data_dir = \"$kiosk_data\"" "fullscreen = true" "show_cursor = false"; do
    [ "$(grep -cxF "$line" <<<"$out")" = 1 ] || { echo "setup.sh: config.example.toml: cannot set '$line'" >&2; exit 1; }
  done
  printf '%s\n' "$out"
}

install_kiosk() {
  local user=$kiosk_user variant
  install_opt_venv "$kiosk_opt" "[kiosk]"
  if [ -n "$desktop_user" ]; then
    getent passwd "$desktop_user" >/dev/null || { echo "setup.sh: no user '$desktop_user' for --desktop" >&2; exit 1; }
    user=$desktop_user
  else
    ensure_system_user "$kiosk_user" "$kiosk_data"
  fi
  ensure_groups "$user" "${kiosk_groups[@]}"
  install -d -m 0755 "$kiosk_etc"
  # 0700: the visits and the device token are the kiosk user's alone (doctor checks it)
  install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$kiosk_data"
  # Everything in it too: switching between --desktop USER and the dedicated user must
  # leave the database to whoever runs the app now.
  chown -R "$user:$(id -gn "$user")" "$kiosk_data"
  say "Data directory $kiosk_data (owner $user, 0700)"
  kiosk_config | write_config_once "$kiosk_etc/config.toml" "$(id -gn "$user")"
  put_command checkpoint-kiosk "$kiosk_opt/venv/bin/checkpoint-kiosk" "$kiosk_data"

  put_file deploy/70-checkpoint-kiosk-readers.rules "$kiosk_rules" 0644
  if systemd_running && udevadm control --reload 2>/dev/null; then
    udevadm trigger --action=change --subsystem-match=tty --subsystem-match=input
    say "Reader rules applied to the plugged-in devices"
  fi
  for unit in "${kiosk_units[@]}"; do put_file "deploy/$unit" "/etc/systemd/system/$unit" 0644; done
  if [ -n "$desktop_user" ]; then
    put_file deploy/checkpoint-kiosk-desktop.service "$desktop_unit" 0644
    put_file deploy/checkpoint-kiosk.desktop "$desktop_autostart" 0644
    # Only USER's session starts it, and the timer's sync runs as USER (it owns the data).
    printf '[Unit]\nConditionUser=%s\n' "$desktop_user" | put_text "$desktop_unit.d/user.conf" 0644
    printf '[Service]\nUser=%s\nGroup=%s\n' "$desktop_user" "$(id -gn "$desktop_user")" \
      | put_text "$sync_dropin/user.conf" 0644
    deactivate checkpoint-kiosk.service checkpoint-kiosk-headless.service
    remove_usb_automount
    activate checkpoint-kiosk-sync.timer
    say "The app starts when $desktop_user logs in to the desktop (set up auto-login)"
    return
  fi
  remove_paths "$desktop_unit" "$desktop_unit.d" "$desktop_autostart" "$sync_dropin"  # an earlier --desktop
  install_usb_automount
  variant=checkpoint-kiosk.service
  if [ "$headless" = 1 ]; then variant=checkpoint-kiosk-headless.service; fi
  deactivate checkpoint-kiosk.service checkpoint-kiosk-headless.service
  activate "$variant" checkpoint-kiosk-sync.timer
  say "Logs: journalctl -u ${variant%.service} -f"
}

uninstall_kiosk() {
  deactivate "${kiosk_units[@]}"
  remove_paths "${kiosk_units[@]/#//etc/systemd/system/}" "$sync_dropin" "$desktop_unit" "$desktop_unit.d" \
               "$desktop_autostart" "$kiosk_rules" "$kiosk_opt" /usr/local/bin/checkpoint-kiosk
  remove_usb_automount
  if systemd_running; then systemctl daemon-reload; fi
  say "Kept: $kiosk_etc (configuration), $kiosk_data (visits, enrolment, PIN) and user $kiosk_user"
}

# --- the district server -------------------------------------------------------------
postgres_url="postgresql:///checkpoint?host=/run/postgresql"

setup_postgresql() {  # a role named like the service user (peer auth) owning database "checkpoint"
  if ! runuser -u postgres -- psql -qtAc 'SELECT 1' >/dev/null 2>&1; then
    say "PostgreSQL is not running here: after boot, create the role and database with"
    say "  sudo -u postgres createuser $server_user && sudo -u postgres createdb -O $server_user checkpoint"
    return
  fi
  if [ "$(runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = '$server_user'")" != 1 ]; then
    runuser -u postgres -- createuser "$server_user"
    say "Created PostgreSQL role $server_user"
  fi
  if [ "$(runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'checkpoint'")" != 1 ]; then
    runuser -u postgres -- createdb -O "$server_user" checkpoint
    say "Created PostgreSQL database checkpoint (owner $server_user)"
  fi
}

install_server() {
  install_opt_venv "$server_opt" "[server]"
  ensure_system_user "$server_user" "$server_data"
  install -d -m 0755 "$server_etc"
  install -d -m 0700 -o "$server_user" -g "$server_user" "$server_data"  # the SQLite database: personal data
  local db=""
  if [ "$postgresql" = 1 ]; then
    setup_postgresql
    db=$postgres_url
    if [ -e "$server_etc/config.toml" ] && ! grep -qF "$db" "$server_etc/config.toml"; then
      say "To use PostgreSQL, set db = \"$db\" in $server_etc/config.toml (kept as it is)"
    fi
  fi
  sed "s|^db = \"\"|db = \"$db\"|" deploy/checkpoint-server.config.toml | write_config_once "$server_etc/config.toml" "$server_user"
  put_command checkpoint-server "$server_opt/venv/bin/checkpoint-server" "$server_data"
  put_file deploy/checkpoint-server.service /etc/systemd/system/checkpoint-server.service 0644
  activate checkpoint-server.service
  say "Next: a reverse proxy with TLS (deploy/Caddyfile) and [server] public_url; logs: journalctl -u checkpoint-server -f"
  local url
  url=$(sed -n 's/^public_url *= *"\(https\{0,1\}:[^"]*\)".*/\1/p' "$server_etc/config.toml" | head -n1)
  say "Web console: ${url:-http://127.0.0.1:8080}/ (public_url in $server_etc/config.toml is its address for others)"
  say "First official, after the district's checkpoints are imported (it asks for their console password):"
  say "  sudo checkpoint-server official add \"Họ Tên\" --role district --district \"Huyện …\" --password"
}

uninstall_server() {
  deactivate checkpoint-server.service
  remove_paths /etc/systemd/system/checkpoint-server.service "$server_opt" /usr/local/bin/checkpoint-server
  if systemd_running; then systemctl daemon-reload; fi
  say "Kept: $server_etc (configuration), $server_data (data), any PostgreSQL database, user $server_user"
}

# --- main ----------------------------------------------------------------------------
case "$mode/$uninstall" in
  service/1) uninstall_kiosk; exit 0 ;;
  server/1) uninstall_server; exit 0 ;;
esac
install_apt_packages
check_python
case "$mode" in
  venv) install_dev_venv; say "Ready: .venv/bin/checkpoint-kiosk --help" ;;
  service) install_kiosk; say "Ready: checkpoint-kiosk doctor (runs as $kiosk_user)" ;;
  server) install_server; say "Ready: checkpoint-server --help (runs as $server_user)" ;;
esac
