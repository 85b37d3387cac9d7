"""Every word a person reads comes from the one catalogue (kiosk/catalog.py), and the
catalogue holds nothing else.

The scan reads every ``.py`` and ``.kv`` file of the five packages: a string literal with
a Vietnamese letter outside a catalogue call (``_``, ``N_``, ``tr._``, ``gettext``,
``text``, ``bilingual``) is a word written past the catalogue, unless it is on the
allow-lists below, which name what is DATA (Telex tables, names being folded or parsed),
not words for a reader; and English words handed straight to a call that shows them (the
terminal, click's and the server's errors, a reader's status) are words past it too.
Every msgid the code asks for has a Vietnamese translation with the same placeholders,
and no entry is left unused.
"""

from __future__ import annotations

import ast
import re
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.catalog import CONTEXT_GLUE, LOCALE_DIR, load_catalog, parse_po, po_path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("kiosk", "drivers", "sync", "ui", "server")
VIETNAMESE = re.compile(
    "[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẮẰẲẴẶÂẤẦẨẪẬĐÈÉẺẼẸÊẾỀỂỄỆÌÍỈĨỊÒÓỎÕỌÔỐỒỔỖỘƠỚỜỞỠỢÙÚỦŨỤƯỨỪỬỮỰỲÝỶỸỴ]"
)
# Calls whose first argument is a msgid (the names xgettext is given as keywords).
CATALOGUE_CALLS = {"_", "N_", "gettext", "text", "bilingual"}

# Files whose Vietnamese letters are data, not words for a reader; each says why.
ALLOWED: dict[str, str] = {
    "ui/telex.py": "the Telex input method's key → letter tables",
    "server/names.py": "the administrative prefixes (huyện, xã…) and letters folded to find a typed place name",
    "server/places.py": "Vietnamese alphabetical order: đ sorts after d",
}
# Single literals whose Vietnamese is not for a reader.
ALLOWED_LITERALS: dict[tuple[str, str], str] = {
    ("drivers/commands.py", ":vào"): "a command a guard types at the terminal (with :vao, :in)",
    ("drivers/commands.py", ":thoát"): "a command a guard types at the terminal (with :thoat, :q)",
    ("kiosk/cccd.py", "nữ"): "the ID card's QR writes sex as Nam/Nữ: the value parsed",
    ("kiosk/cccd.py", "Nữ"): "the ID card's QR writes sex as Nam/Nữ: the value stored",
    ("kiosk/contract.py", "Nữ"): "the wire contract's value for sex, as the ID card writes it",
    ("kiosk/config.py", "Chốt kiểm soát thử nghiệm"): "the demo checkpoint of an unconfigured kiosk: a name, like a configured one",
    ("kiosk/config.py", "Xã Đăk Nhau"): "the demo checkpoint's commune: a place name",
    ("kiosk/config.py", "Huyện Bù Đăng"): "the demo checkpoint's district: a place name",
    ("kiosk/config.py", "Tỉnh Bình Phước"): "the demo checkpoint's province: a place name",
    ("server/console/routes.py", "đ"): "search folds đ to d, as a person types a place name without marks",
    ("server/console/routes.py", "Đ"): "search folds Đ to D, as a person types a place name without marks",
    ("server/code_sheet.py", "ĐẶỮgjy"): "the tallest letter stacks, measured to space the printed lines",
    ("ui/screens/admin.py", r"\s*\((?=[^()]*[A-Za-z]+ [A-Za-z]+)[^()À-ỹ]*\)(?=\s*(?:$|[;.,\n]))"): (
        "a pattern that finds English asides by the absence of Vietnamese letters"
    ),
}
# Template text whose Vietnamese is not for translation.
TEMPLATE_ALLOWED: dict[tuple[str, str], str] = {
    (
        "server/console/templates/base.html",
        '" lang="vi">Tiếng Việt</a>',
    ): "a language's own name for itself, the same in every language",
}
# kv lines whose Vietnamese is not for translation.
KV_ALLOWED: dict[tuple[str, str], str] = {
    ("ui/screens/admin.kv", 'text: "Tiếng Việt"'): "a language's own name for itself, the same in every language",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _is_catalogue_call(node: ast.Call) -> bool:
    """``bilingual(…)``, ``N_(…)`` … by their imported names, and ``tr._(…)`` (not ``sa.text(…)``)."""
    func = node.func
    return (isinstance(func, ast.Name) and func.id in CATALOGUE_CALLS) or (isinstance(func, ast.Attribute) and func.attr == "_")


def _msgid_nodes(tree: ast.AST) -> Iterator[ast.Constant]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_catalogue_call(node) and node.args:
            first = node.args[0]
            choices = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]  # bilingual("a" if x else "b")
            yield from (c for c in choices if isinstance(c, ast.Constant) and isinstance(c.value, str))


def _help_texts(tree: ast.AST) -> set[int]:
    """Command-line ``help=`` and OpenAPI ``description=`` texts: English reference for admins
    and integrators, whose Vietnamese is an example value."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("help", "description") and isinstance(node.value, ast.Constant):
            found.add(id(node.value))
    return found


def stray_words(source: str, name: str = "<snippet>") -> list[tuple[int, str]]:
    """(line, literal) of every Vietnamese string literal written outside the catalogue."""
    tree = ast.parse(source, name)
    skip = _docstrings(tree) | _help_texts(tree) | {id(node) for node in _msgid_nodes(tree)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip and VIETNAMESE.search(node.value)
    ]


# Calls that put words in front of a person: the terminal, click's errors, the server's
# errors, a reader's status line. English written straight into one is a word that
# skipped the catalogue just as much as Vietnamese is.
USER_FACING_CALLS = {
    "echo",
    "secho",
    "prompt",
    "confirm",
    "UsageError",
    "BadParameter",
    "ClickException",
    "UserError",
    "NotFound",
    "Conflict",
    "Forbidden",
    "Unauthorised",
    "HTTPException",
    "error_response",
    "set_status",
    "Choice",
}
ENGLISH_WORDS = re.compile(r"[A-Za-z]{3,} [A-Za-z]{2,}")


def english_past_the_catalogue(source: str, name: str = "<snippet>") -> list[tuple[int, str]]:
    """(line, literal) of English words handed to a user-facing call without the catalogue."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if not (isinstance(node, ast.Call) and _call_name(node) in USER_FACING_CALLS):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords if k.arg not in ("help", "param_hint", "fg", "err"))]:
            inside = {id(n) for c in ast.walk(arg) if isinstance(c, ast.Call) and _is_catalogue_call(c) for n in ast.walk(c)}
            found += [
                (c.lineno, c.value)
                for c in ast.walk(arg)
                if isinstance(c, ast.Constant)
                and isinstance(c.value, str)
                and id(c) not in inside
                and ENGLISH_WORDS.search(c.value)
            ]
    return found


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


KV_MSGID = re.compile(r"""tr\._\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def stray_kv_words(source: str) -> list[tuple[int, str]]:
    """(line, text) of every kv line with Vietnamese outside ``tr._("…")`` and comments."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        rest = KV_MSGID.sub("", line)
        if not rest.lstrip().startswith("#") and VIETNAMESE.search(rest):
            found.append((number, line.strip()))
    return found


def _sources(suffix: str) -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO / package).rglob(f"*{suffix}"))


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# The console's templates ask for words as ``_("…")`` (server/console/words.py).
TEMPLATES = REPO / "server" / "console" / "templates"
TEMPLATE_MSGID = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
TEMPLATE_TAGS = re.compile(r"{#.*?#}|{{.*?}}|{%.*?%}", re.S)


def template_msgids(source: str) -> set[str]:
    return {a or b for a, b in TEMPLATE_MSGID.findall(source)}


def stray_template_words(source: str) -> list[str]:
    """Vietnamese in a template outside its ``_("…")`` calls and comments: a word written past
    the catalogue."""
    found = [chunk.strip() for chunk in TEMPLATE_TAGS.split(source) if VIETNAMESE.search(chunk)]
    tags = (tag for tag in TEMPLATE_TAGS.findall(source) if not tag.startswith("{#"))
    return found + [tag for tag in tags if VIETNAMESE.search(TEMPLATE_MSGID.sub("", tag))]


def used_msgids() -> set[str]:
    """Every msgid the code asks for: catalogue calls in Python, ``tr._("…")`` in kv, ``_("…")``
    in the console's templates (also under the console's context)."""
    found: set[str] = set()
    for path in sorted(TEMPLATES.glob("*.html")):
        for msgid in template_msgids(path.read_text(encoding="utf-8")):
            found |= {msgid, f"console{CONTEXT_GLUE}{msgid}"}
    for path in _sources(".py"):
        found |= {node.value for node in _msgid_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path)))}
    for path in _sources(".kv"):
        for match in KV_MSGID.finditer(path.read_text(encoding="utf-8")):
            found.add(ast.literal_eval(f'"{match.group(1)}"' if match.group(1) is not None else f"'{match.group(2)}'"))
    return found


VI = load_catalog("vi")


def test_no_word_is_written_outside_the_catalogue() -> None:
    stray = [
        f"{_relative(path)}:{line}: {literal!r}"
        for path in _sources(".py")
        if _relative(path) not in ALLOWED
        for line, literal in stray_words(path.read_text(encoding="utf-8"), str(path))
        if (_relative(path), literal) not in ALLOWED_LITERALS
    ]
    stray += [
        f"{_relative(path)}: {word}"
        for path in sorted(TEMPLATES.glob("*.html"))
        for word in stray_template_words(path.read_text(encoding="utf-8"))
        if (_relative(path), word) not in TEMPLATE_ALLOWED
    ]
    stray += [
        f"{_relative(path)}:{line}: {text}"
        for path in _sources(".kv")
        for line, text in stray_kv_words(path.read_text(encoding="utf-8"))
        if (_relative(path), text) not in KV_ALLOWED
    ]
    assert stray == []


def test_no_english_sentence_reaches_a_person_past_the_catalogue() -> None:
    stray = [
        f"{_relative(path)}:{line}: {literal!r}"
        for path in _sources(".py")
        for line, literal in english_past_the_catalogue(path.read_text(encoding="utf-8"), str(path))
    ]
    assert stray == []


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ('raise click.UsageError("--pending and --rejected exclude each other")', True),
        ('self.set_status(SourceState.STOPPED, device, f"end of recording: {n} frames")', True),
        ("click.echo(f\"{bilingual('written')}: {output}\", err=True)", False),
        ('raise click.UsageError(bilingual("--pending and --rejected exclude each other"))', False),
        ('click.echo(f"{cp.code} · {cp.name}")', False),
        ('click.option("--json", help="JSON for scripts instead of lines.")', False),
    ],
)
def test_the_english_checker_catches_a_sentence_added_past_the_catalogue(snippet: str, caught: bool) -> None:
    assert bool(english_past_the_catalogue(snippet)) is caught


def test_the_allow_lists_name_only_what_holds_vietnamese_data() -> None:
    for name in ALLOWED:
        assert stray_words((REPO / name).read_text(encoding="utf-8"), name), f"{name} no longer needs its place on the allow-list"
    for name, literal in ALLOWED_LITERALS:
        assert literal in [text for _, text in stray_words((REPO / name).read_text(encoding="utf-8"), name)], (name, literal)
    for name, line in KV_ALLOWED:
        assert line in [text for _, text in stray_kv_words((REPO / name).read_text(encoding="utf-8"))], (name, line)


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ('click.echo("Đã xoá (removed)")', True),
        ('click.echo(f"Đã xoá {n} lượt")', True),
        ('raise UserError("bad", both("Sai ngày", "bad date"))', True),
        ('HEADINGS = ["Họ tên", "Số điện thoại"]', True),
        ('click.echo(bilingual("removed: {name}", name=name))', False),
        ('label = tr._("READY")', False),
        ('WORDS = {"in": N_("Người trực")}', False),
        ('def f():\n    """Tên Việt trong docstring."""\n', False),
        ("x = 1  # chú thích", False),
        ('click.option("--name", help="e.g. \'Nguyễn Văn An\'")', False),
        ('state = "enrolled" if ok else "chưa đăng ký"', True),
    ],
)
def test_the_checker_catches_a_word_added_past_the_catalogue(snippet: str, caught: bool) -> None:
    assert bool(stray_words(snippet)) is caught


def test_the_kv_checker_catches_a_word_added_past_the_catalogue() -> None:
    assert stray_kv_words('    text: "Sẵn sàng"\n') == [(1, 'text: "Sẵn sàng"')]
    assert stray_kv_words('    text: tr._("READY")\n    # Sẵn sàng\n') == []


def test_the_template_checker_catches_a_word_added_past_the_catalogue() -> None:
    assert stray_template_words('<th>{{ _("Commune") }}</th><td>Tổng</td>') == ["</th><td>Tổng</td>"]
    assert stray_template_words('<th>{{ _("Commune") }}</th>{# Xã #}') == []
    assert stray_template_words("{{ 'Xã ' + name }}") == ["{{ 'Xã ' + name }}"]
    assert template_msgids("{{ _(\"Overview\") }} {{ _('Sign out') }}") == {"Overview", "Sign out"}


def test_every_word_asked_for_is_translated_and_every_entry_is_used() -> None:
    wanted = used_msgids()
    assert len(wanted) > 300
    context = f"console{CONTEXT_GLUE}"
    assert sorted(w for w in wanted if not w.startswith(context) and not VI.get(w) and not VI.get(context + w)) == []
    assert sorted(set(VI) - wanted) == []


def test_translations_are_nfc_and_keep_the_placeholders() -> None:
    for source, words in VI.items():
        assert unicodedata.is_normalized("NFC", words), source
        assert set(re.findall(r"{\w*}", source)) == set(re.findall(r"{\w*}", words)), source
    assert load_catalog("en") == {}  # English is the source language


def test_catalogue_is_valid_gettext() -> None:
    done = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po_path("vi"))], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert po_path("vi").is_relative_to(LOCALE_DIR)


def test_po_reader_skips_fuzzy_and_untranslated_entries() -> None:
    text = (
        'msgid ""\nmsgstr "X: y\\n"\n\n#, fuzzy\nmsgid "Old"\nmsgstr "Cũ"\n\nmsgid "A"\nmsgstr ""\n\n'
        'msgid "Two "\n"lines"\nmsgstr "Hai "\n"dòng"\n'
    )
    assert parse_po(text) == {"Two lines": "Hai dòng"}
