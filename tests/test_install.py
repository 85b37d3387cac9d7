"""``setup.sh --service`` / ``--server`` for real, in a fresh Debian 12 made by debootstrap.

The root is a minimal Bookworm (``debootstrap --variant=minbase``) with this checkout
copied to /opt/src; setup.sh runs inside it through chroot, as root, exactly as on a
freshly flashed machine: apt, the venv in /opt, users, udev rules, units. systemd is not
PID 1 in a chroot, so the units are enabled for the next boot and nothing is started —
the one thing faked is that there is no running systemd (neither is there on this
machine). Every command runs in its own mount namespace (``unshare --mount``), so /proc,
/sys and the bind mounts vanish with it. The units are checked with ``systemd-analyze
verify`` inside the root (their ExecStart exists there) and the reader rules with the real
udev rules parser (``udevadm test``).

The root reaches the package sources this machine uses: its extra CA certificates
(a TLS-inspecting proxy) and its pip configuration (local indexes are bind-mounted
read-only). Needs root, network and debootstrap (``setup.sh --dev`` installs it); skipped
otherwise, except under CI, where that is a failure. Takes about two minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.hid import READER_VENDORS

REPO = Path(__file__).resolve().parents[1]
MIRROR = os.environ.get("CHECKPOINT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KIOSK_UNITS = [
    "checkpoint-kiosk.service",
    "checkpoint-kiosk-headless.service",
    "checkpoint-kiosk-sync.service",
    "checkpoint-kiosk-sync.timer",
]
KIOSK_GROUPS = {"video", "render", "input", "dialout", "audio"}
RULES = "/etc/udev/rules.d/70-checkpoint-kiosk-readers.rules"
USB_RULES = "/etc/udev/rules.d/71-checkpoint-kiosk-usb.rules"
VENV = "/opt/checkpoint-kiosk/venv"
SERVER_VENV = "/opt/checkpoint-server/venv"
pytestmark = pytest.mark.timeout(900)  # the first test also builds the root (debootstrap, apt, pip)


def missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, unshare)"
    for tool in ("debootstrap", "unshare", "chroot", "shellcheck"):
        if shutil.which(tool) is None:
            return f"{tool} is missing: run ./setup.sh --dev"
    return None


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    reason = missing_tools()
    if reason and os.environ.get("CI"):
        pytest.fail(f"install tests cannot run in CI: {reason}")
    if reason:
        pytest.skip(reason)


# --- the fresh Debian root ---------------------------------------------------------------


def _host_pip_paths() -> list[Path]:
    """Local files and directories the host's pip configuration points at (indexes,
    find-links, constraints), so that pip inside the root finds the same packages."""
    listed = subprocess.run(["python3", "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    values = listed + " ".join(v for k, v in os.environ.items() if k.startswith("PIP_"))
    paths = set()
    for token in re.split(r"[\s'=]+", values):
        token = token.removeprefix("file://")
        if token.startswith("/") and Path(token).exists():
            # A local index (PEP 503) keeps its files beside simple/, e.g. in ../files.
            paths.add(Path(token).parent if Path(token).name == "simple" else Path(token))
    return sorted(paths)


class DebianRoot:
    def __init__(self, path: Path, arch: str | None = None, timeout: float = 1200) -> None:
        """``arch``: another architecture than the host's (``arm64``: tests/test_arm64.py, through
        qemu-user); ``timeout``: for each command, which under emulation is many times slower."""
        self.path = path
        self.arch = arch
        self.timeout = timeout
        self.binds = [p for p in _host_pip_paths() if p.is_dir()]

    def create(self) -> None:
        arch = [f"--arch={self.arch}"] if self.arch else []
        subprocess.run(
            ["debootstrap", "--variant=minbase", *arch, "bookworm", str(self.path), MIRROR],
            check=True,
            capture_output=True,
            timeout=max(900, self.timeout),
        )
        # What this machine's network and pip need (no-ops where there is nothing to copy).
        for pattern in ("usr/local/share/ca-certificates/*", "etc/pip.conf", "etc/xdg/pip/*", "root/.config/pip/*"):
            for found in Path("/").glob(pattern):
                target = self.path / found.relative_to("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(found, target)
        for path in _host_pip_paths():
            if path.is_file():
                (self.path / path.relative_to("/")).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, self.path / path.relative_to("/"))
        self.copy_checkout()

    def copy_checkout(self) -> None:
        """The clone an admin would have in /opt/src (replacing an earlier copy)."""
        shutil.rmtree(self.path / "opt/src", ignore_errors=True)
        shutil.copytree(
            REPO,
            self.path / "opt/src",
            ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", "build"),
        )

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """ARGV inside the root, as root, in a private mount namespace."""
        script = ["set -e", 'r="$1"; shift', 'mount -t proc proc "$r/proc"', 'mount -t sysfs -o ro sysfs "$r/sys"']
        for source in self.binds:
            script += [f'mkdir -p "$r{source}"', f'mount --bind -o ro "{source}" "$r{source}"']
        script.append('exec chroot "$r" "$@"')
        env = {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("PIP_", "SSL_CERT", "REQUESTS_CA", "CURL_CA")) or k.lower().endswith("_proxy")
        }
        env |= {"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "sh", str(self.path), *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=self.timeout,
        )
        if check:
            assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done

    def setup(self, *args: str) -> str:
        done = self.run("/opt/src/setup.sh", *args)
        return done.stdout + done.stderr

    def file(self, path: str) -> Path:
        return self.path / path.lstrip("/")

    def passwd(self, user: str) -> list[str]:
        return next(line.split(":") for line in self.file("/etc/passwd").read_text().splitlines() if line.startswith(f"{user}:"))

    def groups_of(self, user: str) -> set[str]:
        return {
            line.split(":")[0] for line in self.file("/etc/group").read_text().splitlines() if user in line.split(":")[3].split(",")
        }

    def owner(self, path: str) -> tuple[str, str, int]:
        done = self.run("stat", "-c", "%U %G %a", path)
        user, group, mode = done.stdout.split()
        return user, group, int(mode, 8)


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DebianRoot]:
    root = DebianRoot(tmp_path_factory.mktemp("debian") / "root")
    root.create()
    yield root
    shutil.rmtree(root.path, ignore_errors=True)  # over a gigabyte


@pytest.fixture(scope="module")
def first_install(debian: DebianRoot) -> str:
    return debian.setup("--service")


# --- the kiosk appliance -------------------------------------------------------------------


def test_service_install_makes_a_kiosk_that_starts_at_boot(debian: DebianRoot, first_install: str) -> None:
    assert "they start at the next boot" in first_install  # no systemd running in a chroot
    *_, home, shell = debian.passwd("checkpoint-kiosk")
    assert (home, shell) == ("/var/lib/checkpoint-kiosk", "/usr/sbin/nologin")
    assert debian.groups_of("checkpoint-kiosk") >= KIOSK_GROUPS
    assert debian.owner("/var/lib/checkpoint-kiosk") == ("checkpoint-kiosk", "checkpoint-kiosk", 0o700)
    assert debian.owner("/etc/checkpoint-kiosk/config.toml") == ("root", "checkpoint-kiosk", 0o640)
    wants = debian.file("/etc/systemd/system")
    assert (wants / "multi-user.target.wants/checkpoint-kiosk.service").is_symlink()
    assert (wants / "timers.target.wants/checkpoint-kiosk-sync.timer").is_symlink()
    assert not (wants / "multi-user.target.wants/checkpoint-kiosk-headless.service").exists()
    for unit in KIOSK_UNITS:  # installed exactly as they are in deploy/
        assert (wants / unit).read_bytes() == (REPO / "deploy" / unit).read_bytes()


def test_the_installed_kiosk_records_as_its_user_with_the_new_config(debian: DebianRoot, first_install: str) -> None:
    config = debian.file("/etc/checkpoint-kiosk/config.toml").read_text()
    for line in ('data_dir = "/var/lib/checkpoint-kiosk"', "fullscreen = true", "show_cursor = false"):
        assert line in config.splitlines()
    done = debian.run("runuser", "-u", "checkpoint-kiosk", "--", f"{VENV}/bin/checkpoint-kiosk", "record", "0912345678")
    assert '"status": "accepted"' in done.stdout
    assert debian.owner("/var/lib/checkpoint-kiosk/visits.sqlite3") == ("checkpoint-kiosk", "checkpoint-kiosk", 0o600)
    # Not an editable install: the code lives in the venv, the clone can move or go.
    where = debian.run(f"{VENV}/bin/python", "-c", "import kiosk; print(kiosk.__file__)").stdout
    assert where.startswith(f"{VENV}/lib/")
    # Only the kiosk: none of the district server's libraries.
    for module in ("fastapi", "sqlalchemy", "alembic", "psycopg", "uvicorn"):
        assert debian.run(f"{VENV}/bin/python", "-c", f"import {module}", check=False).returncode == 1, module


def test_admin_commands_run_as_the_kiosk_user_whoever_calls_them(debian: DebianRoot, first_install: str) -> None:
    # root calls /usr/local/bin/checkpoint-kiosk: what it writes belongs to the kiosk's user
    debian.run("install", "-d", "-m", "1777", "/tmp/usb")
    done = debian.run("checkpoint-kiosk", "backup", "--to", "/tmp/usb", "--json")
    backup = json.loads(done.stdout)["file"]
    assert debian.owner(backup)[0] == "checkpoint-kiosk"
    assert debian.owner("/var/lib/checkpoint-kiosk/visits.sqlite3")[0] == "checkpoint-kiosk"


def test_installed_units_pass_systemd_analyze_verify(debian: DebianRoot, first_install: str) -> None:
    done = debian.run("sh", "-c", "cd /etc/systemd/system && systemd-analyze verify " + " ".join(KIOSK_UNITS), check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_reader_rules_parse_with_udev_and_match_the_drivers_vendors(debian: DebianRoot, first_install: str) -> None:
    done = debian.run("udevadm", "test", "--action=add", "/class/tty/tty0", check=False)
    log = done.stdout + done.stderr
    assert f"Reading rules file: {RULES}" in log
    assert [line for line in log.splitlines() if RULES in line and "Reading" not in line] == []  # no complaint
    rules = debian.file(RULES).read_text()
    vendors = re.search(r'ATTRS\{idVendor\}=="([0-9a-f|]+)"', rules).group(1).split("|")
    assert sorted(vendors) == sorted(READER_VENDORS)  # the same readers as the drivers know


def test_usb_rules_are_installed_and_parse_with_udev(debian: DebianRoot, first_install: str) -> None:
    assert debian.file(USB_RULES).read_bytes() == (REPO / "deploy/71-checkpoint-kiosk-usb.rules").read_bytes()
    # A block device (this machine has no USB stick: the rules are parsed and run up to
    # SUBSYSTEMS=="usb", which a loop device or a virtual disk does not match).
    device = next(d.name for d in sorted(Path("/sys/class/block").iterdir()))
    done = debian.run("udevadm", "test", "--action=add", f"/class/block/{device}", check=False)
    log = done.stdout + done.stderr
    assert f"Reading rules file: {USB_RULES}" in log
    assert [line for line in log.splitlines() if USB_RULES in line and "Reading" not in line] == []  # no complaint
    for tool in ("/usr/bin/systemd-mount", "/usr/bin/findmnt"):  # what the rules run, where they say
        assert debian.run("test", "-x", tool, check=False).returncode == 0, tool


def test_rerun_applies_updates_keeps_the_config_and_can_switch_to_headless(debian: DebianRoot, first_install: str) -> None:
    config = debian.file("/etc/checkpoint-kiosk/config.toml")
    config.write_text(config.read_text().replace('code = "DEMO-01"', 'code = "BD-001"'))
    edited = config.read_bytes()
    marker = "# installed by the rerun test\n"
    debian.copy_checkout()
    debian.file("/opt/src/kiosk/__init__.py").write_text(debian.file("/opt/src/kiosk/__init__.py").read_text() + marker)

    out = debian.setup("--service", "--headless")
    assert config.read_bytes() == edited and "Kept /etc/checkpoint-kiosk/config.toml" in out
    installed = debian.run(f"{VENV}/bin/python", "-c", "import kiosk, pathlib; print(pathlib.Path(kiosk.__file__).read_text())")
    assert marker in installed.stdout  # the update reached the installed code
    wants = debian.file("/etc/systemd/system/multi-user.target.wants")
    assert (wants / "checkpoint-kiosk-headless.service").is_symlink()
    assert not (wants / "checkpoint-kiosk.service").exists()

    again = debian.setup("--service", "--headless")
    assert "is up to date with this checkout" in again and "Wrote" not in again


def test_desktop_variant_runs_as_the_desktop_user_and_switches_back(debian: DebianRoot, first_install: str) -> None:
    debian.run("useradd", "--create-home", "pi")
    debian.setup("--service", "--desktop", "pi")
    unit = "/etc/systemd/user/checkpoint-kiosk-desktop.service"
    assert debian.file(unit).read_bytes() == (REPO / "deploy/checkpoint-kiosk-desktop.service").read_bytes()
    assert debian.file(f"{unit}.d/user.conf").read_text() == "[Unit]\nConditionUser=pi\n"
    assert debian.file("/etc/xdg/autostart/checkpoint-kiosk.desktop").is_file()
    sync = debian.file("/etc/systemd/system/checkpoint-kiosk-sync.service.d/user.conf").read_text()
    assert "User=pi" in sync.splitlines()
    assert debian.owner("/var/lib/checkpoint-kiosk")[0] == "pi"
    assert debian.owner("/var/lib/checkpoint-kiosk/visits.sqlite3")[0] == "pi"
    assert debian.groups_of("pi") >= KIOSK_GROUPS
    wants = debian.file("/etc/systemd/system/multi-user.target.wants")
    assert not any((wants / u).exists() for u in ("checkpoint-kiosk.service", "checkpoint-kiosk-headless.service"))
    assert not debian.file(USB_RULES).exists()  # the desktop's udisks mounts sticks there
    verify = debian.run(
        "sh", "-c", f"mkdir -p -m 0700 /tmp/xdg && XDG_RUNTIME_DIR=/tmp/xdg systemd-analyze --user verify {unit}", check=False
    )
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")

    debian.setup("--service")  # back to the dedicated user on KMS/DRM
    assert not debian.file(unit).exists() and not debian.file("/etc/systemd/system/checkpoint-kiosk-sync.service.d").exists()
    assert debian.owner("/var/lib/checkpoint-kiosk/visits.sqlite3")[0] == "checkpoint-kiosk"
    assert debian.file(USB_RULES).is_file()


def test_uninstall_removes_the_service_and_keeps_config_and_data(debian: DebianRoot, first_install: str) -> None:
    debian.setup("--service")
    debian.file("/var/lib/checkpoint-kiosk/enrolment.json").write_text("{}")
    out = debian.setup("--service", "--uninstall")
    for gone in (
        *[f"/etc/systemd/system/{u}" for u in KIOSK_UNITS],
        RULES,
        USB_RULES,
        "/opt/checkpoint-kiosk",
        "/usr/local/bin/checkpoint-kiosk",
        "/etc/systemd/system/multi-user.target.wants/checkpoint-kiosk.service",
        "/etc/systemd/system/timers.target.wants/checkpoint-kiosk-sync.timer",
    ):
        assert not os.path.lexists(debian.file(gone)), gone
    assert debian.file("/etc/checkpoint-kiosk/config.toml").is_file()
    assert debian.file("/var/lib/checkpoint-kiosk/visits.sqlite3").is_file()
    assert debian.file("/var/lib/checkpoint-kiosk/enrolment.json").read_text() == "{}"
    assert "Kept: /etc/checkpoint-kiosk (configuration), /var/lib/checkpoint-kiosk" in out


# --- the district server -------------------------------------------------------------------


def test_server_install_serves_from_its_own_user_and_uninstalls_keeping_data(debian: DebianRoot) -> None:
    # A venv left by a server install from before the products were split: it held the
    # kiosk's libraries too, and pip removes nothing, so setup.sh builds it again.
    old = debian.file(f"{SERVER_VENV}/lib/python3.11/site-packages/kivy/__init__.py")
    old.parent.mkdir(parents=True)
    old.touch()
    debian.file(f"{SERVER_VENV}/bin").mkdir()
    debian.file(f"{SERVER_VENV}/bin/python").write_text("#!/bin/sh\nexit 1\n")
    debian.file(f"{SERVER_VENV}/bin/python").chmod(0o755)

    out = debian.setup("--server")
    assert "they start at the next boot" in out
    assert f"Rebuilding {SERVER_VENV} for checkpoint-kiosk[server] only" in out and not old.exists()
    # Only the server: none of the kiosk's libraries.
    installed = debian.run(f"{SERVER_VENV}/bin/python", "-m", "pip", "list", "--format=json").stdout
    names = {package["name"].lower() for package in json.loads(installed)}
    assert {"fastapi", "sqlalchemy", "alembic", "pydantic"} <= names
    assert names.isdisjoint(
        {"kivy", "opencv-python-headless", "numpy", "evdev", "zxing-cpp", "pyserial", "requests", "rich", "sqlite-utils"}
    )
    for module in ("kivy", "cv2", "evdev", "zxingcpp"):
        assert debian.run(f"{SERVER_VENV}/bin/python", "-c", f"import {module}", check=False).returncode == 1, module
    assert debian.file(f"{SERVER_VENV}/.checkpoint-product").read_text() == "[server]\n"
    assert debian.passwd("checkpoint-server")[5:] == ["/var/lib/checkpoint-server", "/usr/sbin/nologin"]
    assert debian.owner("/etc/checkpoint-server/config.toml") == ("root", "checkpoint-server", 0o640)
    assert debian.file("/etc/systemd/system/multi-user.target.wants/checkpoint-server.service").is_symlink()
    verify = debian.run("systemd-analyze", "verify", "/etc/systemd/system/checkpoint-server.service", check=False)
    assert (verify.returncode, verify.stdout + verify.stderr) == (0, "")
    # The service's own command line, as its user, with the installed config: the schema is
    # created in the data directory (the migrations ship in the non-editable install).
    debian.run("checkpoint-server", "migrate")  # /usr/local/bin's command switches to that user
    assert debian.owner("/var/lib/checkpoint-server/server.sqlite3")[0] == "checkpoint-server"
    # The reverse-proxy example is a valid Caddy configuration.
    debian.run("apt-get", "install", "-y", "-qq", "caddy")
    caddy = debian.run("caddy", "validate", "--adapter", "caddyfile", "--config", "/opt/src/deploy/Caddyfile")
    assert "Valid configuration" in caddy.stdout + caddy.stderr

    out = debian.setup("--server", "--uninstall")
    assert not debian.file("/opt/checkpoint-server").exists()
    assert not debian.file("/usr/local/bin/checkpoint-server").exists()
    assert not debian.file("/etc/systemd/system/checkpoint-server.service").exists()
    assert debian.file("/var/lib/checkpoint-server/server.sqlite3").is_file()
    assert debian.file("/etc/checkpoint-server/config.toml").is_file()


# --- the script itself ---------------------------------------------------------------------


def test_setup_sh_passes_shellcheck() -> None:
    done = subprocess.run(
        ["shellcheck", str(REPO / "setup.sh"), str(REPO / "deploy/command-as-owner.sh")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--headless"],
        ["--dev", "--service"],
        ["--server", "--desktop", "pi"],
        ["--uninstall"],
        ["--service", "--postgresql"],
        ["--service", "--headless", "--desktop", "pi"],
    ],
)
def test_setup_sh_refuses_options_that_do_not_go_together(args: list[str]) -> None:
    done = subprocess.run([str(REPO / "setup.sh"), *args], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("setup.sh: ")
