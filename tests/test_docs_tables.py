"""Every Markdown table in the README and docs/ renders as a table, every row a row.

A paragraph pasted between table rows once cut the kiosk's command table in two: the rows
after it had no header, so GitHub showed them as run-on text. In GitHub-flavoured Markdown
a table starts with a header row and a delimiter row after a blank line, and a line of text
right after it is swallowed into it; these are the rules checked here, without a Markdown
library, on every file people read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")])
DELIMITER = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")


def cells(line: str) -> int:
    """Cells of a table row: pipes not escaped with a backslash, without the outer ones."""
    inner = line.strip().removeprefix("|").removesuffix("|")
    return len(re.split(r"(?<!\\)\|", inner))


def problems(text: str) -> list[str]:
    found: list[str] = []
    lines = text.splitlines()
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("|"):
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        block = lines[start:i]
        where = f"line {start + 1}"
        if start > 0 and lines[start - 1].strip():
            found.append(f"{where}: no blank line before the table")
        if len(block) < 2 or not DELIMITER.fullmatch(block[1].strip()):
            found.append(f"{where}: table rows without a header and delimiter row (shown as text)")
            continue
        width = cells(block[0])
        found += [
            f"line {start + n + 1}: {cells(row)} cells, the header has {width}"
            for n, row in enumerate(block)
            if cells(row) != width
        ]
        if i < len(lines) and lines[i].strip():
            found.append(f"line {i + 1}: text right after the table becomes one of its rows (add a blank line)")
    return found


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_table_row_is_a_row(path: Path) -> None:
    assert problems(path.read_text(encoding="utf-8")) == []


def test_the_check_finds_a_paragraph_inside_a_table() -> None:
    broken = "| a | b |\n|---|---|\n| 1 | 2 |\n\nA paragraph.\n| 3 | 4 |\n| 5 |\n"
    assert problems(broken) == [
        "line 6: no blank line before the table",
        "line 6: table rows without a header and delimiter row (shown as text)",
    ]
    assert problems("| a | b |\n|---|---|\n| 1 |\ntext\n") == [
        "line 3: 1 cells, the header has 2",
        "line 4: text right after the table becomes one of its rows (add a blank line)",
    ]
    assert problems("| a | b |\n|---|---|\n| `x\\|y` | 2 |\n\n```\n| not | a | table\n```\n") == []
