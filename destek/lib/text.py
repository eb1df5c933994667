"""Text helpers shared by every channel: invisible characters, matching keys, file names.

Two kinds of output live here and must not be confused:

* display text (`strip_invisible`, `clean_filename`) stays readable and keeps the user's
  spelling, including the Persian zero-width non-joiner where a caller wants it;
* matching keys (`normalize_text`, `words`) are lossy and are only ever compared with other
  matching keys, never shown or stored as the user's text.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_filename", "normalize_text", "strip_invisible", "words"]

ZWNJ = "\u200c"

# Bidi embedding, override and isolate controls plus the Arabic letter mark. They reorder how
# text is drawn without being visible, which is how "invoice\u202efdp.exe" passes for a PDF.
BIDI_CONTROLS = frozenset(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
)

# Zero-width characters other than ZWNJ (which Persian needs for display): zero-width space,
# zero-width joiner, byte order mark / zero-width no-break space and word joiner.
ZERO_WIDTH = frozenset("\u200b\u200d\ufeff\u2060")

_C0_C1_CONTROLS = frozenset(chr(cp) for cp in [*range(0x00, 0x20), *range(0x7F, 0xA0)])
_KEPT_CONTROLS = frozenset("\n\t")

_INVISIBLE_TABLE: dict[int, None] = {
    ord(ch): None for ch in (_C0_C1_CONTROLS - _KEPT_CONTROLS) | BIDI_CONTROLS | ZERO_WIDTH
}


def strip_invisible(s: str) -> str:
    """Return `s` without control, bidi-control and zero-width characters.

    Newlines and tabs are kept, and so is ZWNJ (U+200C): it changes how Persian words are
    drawn, so removing it is the caller's decision. Everything else removed is invisible or
    reorders the visible text, so the result reads the same to a human.
    """
    return s.translate(_INVISIBLE_TABLE)


# --- matching keys ----------------------------------------------------------------------------

# Turkish and Azerbaijani have two i's; which one a customer types depends on the keyboard, not
# on the word, so all four letters meet at "i". Mapped before casefolding because
# "İ".casefold() is "i" + U+0307, not "i".
_DOTTED_DOTLESS_I = frozenset("İIıi")

# Arabic code points typed on Arabic keyboards, or in older Persian text, and their Persian
# equivalents; hamza carriers fold to the bare letter because people spell both ways (سؤال/سوال).
_LETTER_FOLDS = {
    "ي": "ی",  # U+064A Arabic yeh
    "ى": "ی",  # U+0649 alef maksura
    "ئ": "ی",  # U+0626 yeh with hamza above
    "ك": "ک",  # U+0643 Arabic kaf
    "ة": "ه",  # U+0629 teh marbuta
    "ۀ": "ه",  # U+06C0 heh with yeh above (the Persian ezafe form)
    "أ": "ا",  # U+0623
    "إ": "ا",  # U+0625
    "آ": "ا",  # U+0622
    "ٱ": "ا",  # U+0671 alef wasla
    "ؤ": "و",  # U+0624 waw with hamza above
    "ё": "е",  # Russian ё is optional in writing
}

# Harakat (U+064B-U+065F), superscript alef (U+0670) and tatweel (U+0640): optional marks and
# stretching that do not change the word.
_ARABIC_MARKS = frozenset([*map(chr, range(0x064B, 0x0660)), "\u0670", "\u0640"])

# The matching table caches one entry per distinct character seen; the cap keeps a message made
# of every code point from growing it without bound.
_FOLD_CACHE_LIMIT = 20_000


def _fold_char(ch: str) -> str:
    """Map one (NFKC-normalised) character to its matching-key form."""
    if ch in _DOTTED_DOTLESS_I:
        return "i"
    category = unicodedata.category(ch)
    if category == "Cc":
        # Line breaks and other control whitespace still separate words.
        return " " if ch.isspace() else ""
    if category == "Cf":
        # Bidi controls, zero-width characters, ZWNJ, soft hyphen: none separate words.
        return ""
    if category[0] in "PS" or category in ("Cn", "Co", "Cs"):
        # Unassigned code points are mostly emoji newer than this Python's Unicode tables;
        # private-use ones are icon-font symbols; lone surrogates are broken input.
        return " "
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    folded = []
    for out in ch.casefold():
        out = _LETTER_FOLDS.get(out, out)
        if out not in _ARABIC_MARKS:
            folded.append(out)
    return "".join(folded)


class _FoldTable(dict[int, str]):
    """A `str.translate` table filled lazily, so no table over all of Unicode is built."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        if len(self) < _FOLD_CACHE_LIMIT:
            self[codepoint] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _normalize_once(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).translate(_FOLD_TABLE)
    # "i" followed by a combining dot above is how lowercase İ is sometimes stored.
    s = s.replace("i\u0307", "i")
    return " ".join(s.split())


def normalize_text(s: str) -> str:
    """Return the matching key of `s`: a lossy form for comparing text, never for display.

    Applied, in effect: NFKC; control, bidi, zero-width and ZWNJ characters removed; Arabic
    letter variants folded to Persian (ي ى ئ -> ی, ك -> ک, ة ۀ -> ه, أ إ آ ٱ -> ا, ؤ -> و);
    Arabic diacritics and tatweel removed; every decimal digit (Persian, Arabic-Indic, ...)
    made ASCII; İ, I, ı and i all "i"; casefold; ё -> е (Azerbaijani ə stays ə); every
    punctuation and symbol character (Unicode P* and S*, emoji included) and every unassigned,
    private-use or surrogate code point turned into a space; whitespace collapsed to single
    spaces and stripped.

    The result therefore contains only letters, digits, combining marks and single spaces, and
    `normalize_text(normalize_text(s)) == normalize_text(s)`.
    """
    result = _normalize_once(s)
    if result.isascii():
        # Lowercase ASCII letters, digits and single spaces are a fixed point of every step.
        return result
    # Casefolding and removals can leave a string that NFKC composes differently (e.g. a base
    # letter and a combining mark that a removed character used to separate). Repeat until
    # stable so that the key of a key is the key; in practice the second pass confirms.
    for _ in range(4):
        again = _normalize_once(result)
        if again == result:
            break
        result = again
    return result


def words(s: str) -> list[str]:
    """Return the words of the matching key of `s` (see `normalize_text`)."""
    return normalize_text(s).split()


# --- file names -------------------------------------------------------------------------------

_PATH_SEPARATORS = re.compile(r"[/\\]")
# Characters Windows refuses in names (the separators are handled above).
_ILLEGAL_IN_NAMES = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)
# An extension longer than this is not one worth keeping when the name is shortened.
_MAX_EXTENSION = 16
# Only the end of an absurdly long name can survive anyway, so look at no more than this.
_MAX_INPUT = 4096
_FALLBACK_NAME = "file"


def _visible_filename_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return " " if ch.isspace() else ""
    # Cf covers bidi controls, zero-width characters and ZWNJ; lone surrogates (Cs) cannot be
    # encoded for the file system or the database.
    if category in ("Cf", "Cs"):
        return ""
    return ch


def clean_filename(name: str, *, max_length: int = 150) -> str:
    """Return a safe, readable version of an uploaded file name.

    The result is NFKC-normalised; has no control, format (bidi, zero-width, ZWNJ) or
    surrogate characters; is only the last path component of `name` (directories sent by old
    browsers and mail clients are dropped), so it has no "/" or "\\"; has `<>:"|?*` replaced
    with "_"; has runs of whitespace collapsed to one space; has no leading or trailing dots
    or spaces; does not use a Windows device name; is at most `max_length` characters long,
    shortening the stem so that a short extension survives; and is never empty ("file").

    Length is counted in characters (it is meant for a database column); files are stored
    under generated names, so this name is only ever shown and offered as a download name.
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    name = unicodedata.normalize("NFKC", name[-_MAX_INPUT:])
    name = "".join(_visible_filename_char(ch) for ch in name)
    components = [part.strip(" .") for part in _PATH_SEPARATORS.split(name)]
    name = next((part for part in reversed(components) if part), "")
    name = _ILLEGAL_IN_NAMES.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    if name.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        name = "_" + name
    if len(name) > max_length:
        name = _shorten_keeping_extension(name, max_length)
    return name or _FALLBACK_NAME[:max_length]


def _shorten_keeping_extension(name: str, max_length: int) -> str:
    stem, dot, extension = name.rpartition(".")
    room_for_stem = max_length - len(extension) - 1
    keep_extension = " " not in extension and len(extension) <= _MAX_EXTENSION
    if dot and stem and keep_extension and room_for_stem >= 1:
        return stem[:room_for_stem].rstrip(" .") + "." + extension
    return name[:max_length].rstrip(" .")
