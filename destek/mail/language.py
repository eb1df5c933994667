"""A first guess at the language of someone who writes to us for the first time."""

from __future__ import annotations

from destek.lib import language


def guess_language(text: str) -> str:
    """az, fa, ru, tr or en, from the words and letters of `text` (`destek.lib.language`),
    however little it says ("Salam" is Azerbaijani here); the site's language when nothing
    tells. The language of a new account: the one rule of `choose_language` then answers in
    the text's language when it is clear, else in this one."""
    return language.guess_language(text) or language.site_language()
