"""The layout is the architecture: each package imports only what docs/architecture.md allows.

Every ``import`` and ``from … import`` in the packages' source, at any depth (a function's
deferred import counts as much as one at the top), is checked against the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("kiosk", "drivers", "sync", "ui", "server", "faults")
ALLOWED = {
    "kiosk": set(),
    "drivers": {"kiosk", "sync"},
    "sync": {"kiosk"},
    "ui": {"kiosk", "drivers", "sync"},
    "server": {"kiosk", "sync"},
    "faults": {"kiosk", "drivers", "sync", "ui", "server"},  # the fault campaign: a tool, imported by none
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            else []
        )
        found |= {name.split(".")[0] for name in names}
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_the_architecture_allows(package: str) -> None:
    wrong = {
        f"{path.relative_to(REPO)} imports {other}"
        for path in (REPO / package).rglob("*.py")
        for other in imported_packages(path) - ALLOWED[package] - {package}
    }
    assert not wrong, sorted(wrong)


def test_the_check_sees_deferred_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ui.app import KioskApp\n    import server.cli\n")
    assert imported_packages(module) == {"ui", "server"}
