"""The message catalogues: complete, compiled, and with every placeholder kept."""

from __future__ import annotations

import ast
import gettext
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = ["az", "fa", "ru", "tr", "en"]
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sd]|\{[A-Za-z_][A-Za-z0-9_]*\}")
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # a singular msgstr is form 0
    flags: set[str] = field(default_factory=set)
    line: int = 0

    def __str__(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"line {self.line}: {context}{self.msgid!r}"


def read_po(path: Path) -> list[Entry]:
    """The live entries of a PO file, header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    flags: set[str] = set()
    target: tuple[str, int] = ("", 0)

    def append(kind: str, index: int, text: str) -> None:
        assert entry is not None
        if kind == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
        else:
            setattr(entry, kind, (getattr(entry, kind) or "") + text)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            if keyword in ("msgctxt", "msgid") and (entry is None or entry.msgstr):
                entry = Entry(flags=flags, line=number)
                entries.append(entry)
                flags = set()
            kind = "msgstr" if keyword.startswith("msgstr") else keyword
            target = (kind, int(index or 0))
            append(*target, ast.literal_eval(text))
        elif line.startswith('"'):
            append(*target, ast.literal_eval(line))
        else:
            raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
    return entries


def header(entries: list[Entry]) -> dict[str, str]:
    assert entries[0].msgid == "", "the catalogue starts with its header"
    lines = entries[0].msgstr[0].splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    language: str = request.param
    return language


@pytest.fixture
def catalogue(language: str) -> list[Entry]:
    return read_po(LOCALE / language / "LC_MESSAGES" / "django.po")


def test_every_catalogue_is_complete_and_has_no_fuzzy_entries(
    language: str, catalogue: list[Entry]
) -> None:
    meta = header(catalogue)
    assert meta["Language"] == language
    assert "charset=UTF-8" in meta["Content-Type"]
    nplurals = int(meta["Plural-Forms"].split("nplurals=")[1].split(";")[0])
    assert len(catalogue) > 250
    fuzzy = [str(e) for e in catalogue if "fuzzy" in e.flags]
    assert fuzzy == []
    empty = [str(e) for e in catalogue[1:] if not all(e.msgstr.values())]
    assert empty == []
    wrong_forms = [
        str(e)
        for e in catalogue[1:]
        if sorted(e.msgstr) != list(range(nplurals if e.msgid_plural is not None else 1))
    ]
    assert wrong_forms == []


def test_compiled_catalogues_are_up_to_date(language: str, catalogue: list[Entry]) -> None:
    mo = LOCALE / language / "LC_MESSAGES" / "django.mo"
    assert mo.exists(), f"{mo} is missing: run ./manage.py compilemessages"
    data = mo.read_bytes()
    order = "<" if data[:4] == struct.pack("<I", 0x950412DE) else ">"
    count = struct.unpack(order + "I", data[8:12])[0]
    assert count == len(catalogue), "the .mo holds a different set of messages: recompile"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.info()["plural-forms"] == header(catalogue)["Plural-Forms"]
    stale = []
    for entry in catalogue[1:]:
        context, msgid = entry.msgctxt, entry.msgid
        if entry.msgid_plural is None:
            found = (
                compiled.pgettext(context, msgid)
                if context is not None
                else compiled.gettext(msgid)
            )
            if found != entry.msgstr[0]:
                stale.append(str(entry))
            continue
        for n in range(112):
            # `plural` is set from the catalogue header; typeshed does not declare it.
            expected = entry.msgstr[compiled.plural(n)]  # type: ignore[attr-defined]
            found = (
                compiled.npgettext(context, msgid, entry.msgid_plural, n)
                if context is not None
                else compiled.ngettext(msgid, entry.msgid_plural, n)
            )
            if found != expected:
                stale.append(f"{entry} (n={n})")
                break
    assert stale == [], "run ./manage.py compilemessages"


def test_placeholders_survive_translation(catalogue: list[Entry]) -> None:
    broken = []
    for entry in catalogue[1:]:
        required = placeholders(entry.msgid)
        allowed = required | placeholders(entry.msgid_plural or "")
        for form, text in entry.msgstr.items():
            found = placeholders(text)
            if not required <= found or not found <= allowed:
                broken.append(f"{entry} msgstr[{form}]: {sorted(found ^ required)}")
    assert broken == []


def test_the_reader_sees_contexts_plurals_and_flags(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: ru\\n"\n\n'
        '#, fuzzy, python-format\nmsgctxt "ticket status"\nmsgid "New"\nmsgstr "Новая"\n\n'
        'msgid "%(n)s day"\nmsgid_plural ""\n"%(n)s days"\nmsgstr[0] "%(n)s день"\n'
        'msgstr[1] ""\n\n'
        '#~ msgid "gone"\n#~ msgstr "ушло"\n',
        encoding="utf-8",
    )
    head, status, days = read_po(po)
    assert header([head, status, days]) == {"Language": "ru"}
    assert (status.msgctxt, status.msgid, status.msgstr) == ("ticket status", "New", {0: "Новая"})
    assert status.flags == {"fuzzy", "python-format"}
    assert days.msgid_plural == "%(n)s days"
    assert days.msgstr == {0: "%(n)s день", 1: ""}
