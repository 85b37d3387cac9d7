"""Two products from one distribution: the kiosk (``checkpoint-kiosk[kiosk]``) and the
district server (``checkpoint-kiosk[server]``) each install only what they need.

The quick tests read the code and pyproject.toml: every third-party module a product
imports is declared in the base or in its extra, the base holds only what both import, and
importing the server loads nothing of the kiosk's (and back). The venv test installs each
product alone into a fresh venv, as setup.sh does, and runs its command there; it builds
two venvs with pip from this machine's configured index (about a minute).
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCAL = {"kiosk", "drivers", "sync", "ui", "server"}
KIOSK_PACKAGES = ["kiosk", "drivers", "sync", "ui"]
# Import names only one product may load (what makes the other one heavy).
KIOSK_ONLY = ["kivy", "cv2", "evdev", "zxingcpp", "numpy", "serial", "requests", "rich", "sqlite_utils"]
SERVER_ONLY = ["fastapi", "starlette", "sqlalchemy", "alembic", "psycopg", "uvicorn", "xlsxwriter", "segno", "fpdf"]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.match(r"[A-Za-z0-9._-]+", requirement).group())


def _requirements() -> dict[str, set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lists = {"base": project["dependencies"], **project["optional-dependencies"]}
    return {key: {_requirement_name(r) for r in reqs} for key, reqs in lists.items()}


# --- what the code imports, read from its source -------------------------------------------


def _module_file(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(name: str) -> set[str]:
    """Absolute names imported anywhere in module NAME (functions too: a lazy import is
    still an import the product needs)."""
    path = _module_file(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
    return found


def _closure(roots: list[str]) -> tuple[set[str], set[str]]:
    """The local modules reachable from ROOTS and the top-level third-party names they import."""
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or _module_file(name) is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run first
        for imported in _imports(name):
            top = imported.split(".")[0]
            if top in LOCAL:
                todo.append(imported)
            elif top and top not in sys.stdlib_module_names:
                third_party.add(top)
    return seen, third_party


def _modules_under(*packages: str) -> list[str]:
    names = []
    for package in packages:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic's scripts, run by alembic, not imported
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _distributions(modules: set[str]) -> set[str]:
    """Import names → the distributions that provide them, in this (dev) venv."""
    provided = packages_distributions()
    missing = sorted(m for m in modules if m not in provided)
    assert not missing, f"not installed in this venv, cannot tell their distribution: {missing}"
    return {_normalise(dist) for m in modules for dist in provided[m]}


def _with_their_requirements(declared: set[str]) -> set[str]:
    """DECLARED and what they bring (starlette comes with fastapi, which re-exports it);
    a requirement not installed here (for another Python) provides no import either."""
    found, todo = set(), list(declared)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        with contextlib.suppress(PackageNotFoundError):
            todo += [_requirement_name(r) for r in requires(name) or [] if "extra ==" not in r]
    return found


def test_each_product_declares_every_module_it_imports() -> None:
    wanted = _requirements()
    server_modules, server_imports = _closure(_modules_under("server"))
    _, kiosk_imports = _closure(_modules_under(*KIOSK_PACKAGES))
    assert _distributions(server_imports) <= _with_their_requirements(wanted["base"] | wanted["server"])
    assert _distributions(kiosk_imports) <= _with_their_requirements(wanted["base"] | wanted["kiosk"])
    # The base is what both products need, nothing more.
    assert wanted["base"] <= _distributions(server_imports) & _distributions(kiosk_imports)
    # What the server takes from the kiosk's packages: the wire contract, the one settings
    # loader, the local time zone, the one table of exit codes, the catalogue of words and a
    # few helpers; the district cards' format
    # (the server signs what the kiosk checks).
    assert {m for m in server_modules if not m.startswith("server")} <= {
        "kiosk",
        "kiosk.cards",
        "kiosk.catalog",
        "kiosk.clock",
        "kiosk.contract",
        "kiosk.credentials",
        "kiosk.exitcodes",
        "kiosk.masking",
        "kiosk.messages",
        "kiosk.phone",
        "kiosk.private",
        "kiosk.sdnotify",
        "kiosk.seal",
        "kiosk.settings",
        "sync",
        "sync.protocol",
        "sync.sealed",
        "sync.transport",
    }


# --- what importing them really loads ------------------------------------------------------

LOADED = """
import importlib, json, sys
for name in sys.argv[2:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))
"""


def _loaded(modules: list[str], forbidden: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, json.dumps(forbidden), *modules], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_wire_contract_loads_only_pydantic() -> None:
    assert _loaded(["sync.protocol"], [*KIOSK_ONLY, *SERVER_ONLY, "click", "cryptography", "phonenumbers"]) == []


def test_importing_the_server_loads_nothing_of_the_kiosk() -> None:
    assert _loaded(_modules_under("server"), [*KIOSK_ONLY, "drivers", "ui"]) == []


def test_importing_the_kiosk_loads_nothing_of_the_server() -> None:
    # ui's screens import Kivy (a window); its command and backend are what the CLI loads.
    modules = _modules_under("kiosk", "drivers", "sync") + ["ui.commands", "ui.backend"]
    assert _loaded(modules, [*SERVER_ONLY, "server"]) == []


# --- each product alone in a fresh venv ------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout built once, from a copy (as setup.sh does: no build files in the clone)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *KIOSK_PACKAGES, "server"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return next(tmp.glob("*.whl"))


def _venv(path: Path, requirement: str) -> Path:
    """A fresh venv with REQUIREMENT, installed by this venv's pip (--python: no pip of its
    own to bootstrap) without compiling every module of Kivy and NumPy: a third of the time."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(path / "bin/python"), "install", "--quiet", "--no-compile", requirement],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return path / "bin"


@pytest.fixture(scope="module")
def server_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("server-venv")
    yield _venv(path, f"{wheel}[server]")
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def kiosk_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("kiosk-venv")
    yield _venv(path, f"{wheel}[kiosk]")
    shutil.rmtree(path, ignore_errors=True)


IMPORTABLE = """
import importlib, json, sys
ok = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        continue
    ok.append(name)
print(json.dumps(ok))
"""


def _importable(bin_dir: Path, names: list[str], home: Path) -> list[str]:
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", IMPORTABLE, *names],
        capture_output=True,
        text=True,
        env=_env(bin_dir, home),
        cwd=home,
        timeout=300,
    )  # cwd: not the checkout's folders
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _catalogue_word(bin_dir: Path, home: Path) -> str:
    """A Vietnamese word read from the installed catalogue (kiosk/locale), not the checkout."""
    done = _run(bin_dir, "python", "-c", "from kiosk.catalog import gettext; print(gettext('database', 'vi'))", home=home)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _env(bin_dir: Path, home: Path) -> dict[str, str]:
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "KIVY_HOME": str(home / "kivy"),
        "KIVY_NO_ARGS": "1",
    }


def _run(bin_dir: Path, *argv: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]], capture_output=True, text=True, env=_env(bin_dir, home), cwd=home, timeout=120
    )


@pytest.mark.timeout(900)
def test_server_venv_serves_without_the_kiosk_libraries(server_venv: Path, tmp_path: Path) -> None:
    assert _run(server_venv, "checkpoint-server", "--help", home=tmp_path).returncode == 0
    done = _run(server_venv, "checkpoint-server", "migrate", "--db", f"sqlite:///{tmp_path}/server.sqlite3", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "server.sqlite3").stat().st_size > 0
    assert _importable(server_venv, ["sync.protocol", "sync.sealed", "kiosk.phone", "server.app"], tmp_path) == [
        "sync.protocol",
        "sync.sealed",
        "kiosk.phone",
        "server.app",
    ]
    assert _importable(server_venv, KIOSK_ONLY, tmp_path) == []
    assert _catalogue_word(server_venv, tmp_path) == "Cơ sở dữ liệu"  # the .po is installed with kiosk/


@pytest.mark.timeout(900)
def test_kiosk_venv_records_without_the_server_libraries(kiosk_venv: Path, tmp_path: Path) -> None:
    done = _run(kiosk_venv, "checkpoint-kiosk", "parse", "0912345678", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["phone"] == "0912345678"
    assert _run(kiosk_venv, "checkpoint-kiosk", "--help", home=tmp_path).returncode == 0
    assert _importable(kiosk_venv, ["kivy", "cv2", "evdev", "zxingcpp"], tmp_path) == ["kivy", "cv2", "evdev", "zxingcpp"]
    assert _importable(kiosk_venv, SERVER_ONLY, tmp_path) == []
    assert _catalogue_word(kiosk_venv, tmp_path) == "Cơ sở dữ liệu"
