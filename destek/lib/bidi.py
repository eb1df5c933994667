"""Left-to-right runs isolated inside right-to-left text.

In a Persian sentence, "3-D Secure" or "#123456" take their direction from the Persian
around them, and the Unicode bidirectional algorithm turns them round ("Secure D-3"). Each
left-to-right run that holds a Latin letter (or a "#" number) is wrapped in `<bdi>`, which
isolates it (HTML's `unicode-bidi: isolate`). Text without right-to-left letters is left as
it is.
"""

from __future__ import annotations

import re
from html import unescape

from django.utils.html import escape, urlize
from django.utils.safestring import SafeString, mark_safe

_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# A run: starts and ends with a Latin letter or digit (or a "#" reference), may hold spaces
# and the punctuation of names, versions, addresses and codes between them.
_RUN = re.compile(
    r"#\d+|[A-Za-z0-9\u00c0-\u024f][A-Za-z0-9\u00c0-\u024f\-.,/+:&_@'() ]*[A-Za-z0-9\u00c0-\u024f)]"
    r"|[A-Za-z\u00c0-\u024f]"
)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f#]")
_TAG = re.compile(r"(<[^>]*>)")


def _isolate(text: str) -> str:
    """Plain `text`, escaped, with its runs wrapped."""
    out: list[str] = []
    position = 0
    for match in _RUN.finditer(text):
        run = match.group(0)
        if not _LATIN.search(run):
            continue
        out.append(str(escape(text[position : match.start()])))
        out.append(f"<bdi>{escape(run)}</bdi>")
        position = match.end()
    out.append(str(escape(text[position:])))
    return "".join(out)


def isolate_html(html: str) -> str:
    """`html` (trusted: already escaped or sanitised) with left-to-right runs isolated in the
    text between its tags."""
    if not _RTL.search(html):
        return html
    parts = _TAG.split(html)
    # Text between tags is unescaped to find the runs (an entity is not a word) and escaped
    # again piece by piece.
    return "".join(
        part if index % 2 else _isolate(unescape(part)) for index, part in enumerate(parts)
    )


def isolate_text(text: str) -> SafeString:
    """Plain text, escaped, with its left-to-right runs isolated."""
    if not _RTL.search(text):
        return escape(text)
    return mark_safe(_isolate(text))  # noqa: S308  (_isolate escapes every piece)


_NOFOLLOW = 'rel="nofollow"'
#: Links in what people wrote: not followed by search engines, opened in a new tab that
#: cannot reach back to the desk (`noopener`) nor learn its address (`noreferrer`).
_REL = 'rel="nofollow ugc noopener noreferrer" target="_blank"'
LINK_TEXT_MAX = 80


def linked_text(text: str) -> SafeString:
    """Plain `text`, escaped, its web and mail addresses made links (Django's `urlize`: only
    http(s), "www." and addresses, so never a `javascript:` link), its left-to-right runs
    isolated in right-to-left text."""
    html = urlize(text, trim_url_limit=LINK_TEXT_MAX, nofollow=True, autoescape=True)
    html = html.replace(_NOFOLLOW, _REL)
    return mark_safe(isolate_html(html))  # noqa: S308  (urlize escaped the text)
