"""A first guess at the language of someone who writes to us for the first time."""

from __future__ import annotations

from django.conf import settings

_AZERBAIJANI = set("əƏ")
_TURKISH = set("ğĞşŞıİçÇöÖüÜ")


def guess_language(text: str) -> str:
    """az, fa, ru, tr or en from the letters used; the site's language when nothing tells.

    Letters, not words: ə is Azerbaijani (Turkish has no schwa), Cyrillic is Russian here,
    Arabic script is Persian here, ğ/ş/ı without ə is Turkish.
    """
    sample = text[:4000]
    counts = {"cyrillic": 0, "arabic": 0, "latin": 0}
    letters = set()
    for char in sample:
        if "\u0400" <= char <= "\u04ff":
            counts["cyrillic"] += 1
        elif "\u0600" <= char <= "\u06ff" or "\ufb50" <= char <= "\ufdff":
            counts["arabic"] += 1
        elif char.isalpha():
            counts["latin"] += 1
        letters.add(char)
    script = max(counts, key=lambda name: counts[name])
    if counts[script] == 0:
        return _default()
    if script == "cyrillic":
        return "ru"
    if script == "arabic":
        return "fa"
    if letters & _AZERBAIJANI:
        return "az"
    if letters & _TURKISH:
        return "tr"
    return "en"


def _default() -> str:
    code = settings.LANGUAGE_CODE.split("-")[0]
    return code if code in dict(settings.LANGUAGES) else "en"
