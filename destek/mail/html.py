"""HTML of inbound mail: sanitised for showing, turned into readable text for the thread.

Both functions are pure and never raise for any input string.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

__all__ = ["html_to_text", "sanitize_html"]

# Basic formatting only: what a customer's mail client uses to lay out a message. No forms, no
# frames, no style sheets; `style` and `script` are dropped with their content.
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "font",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "*": {"dir", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
_LINK_SCHEMES = ("http:", "https:", "mailto:")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Links may go to the web or a mail address; images only to a part of this message.

    A remote image is a tracking pixel or a way to learn that an agent opened the ticket, so
    `<img src="https://...">` loses its source, and only `cid:` (RFC 2392) survives.
    """
    lowered = value.strip().lower()
    if tag == "img" and attribute == "src":
        return value.strip() if lowered.startswith("cid:") else None
    if tag == "a" and attribute == "href":
        return value.strip() if lowered.startswith(_LINK_SCHEMES) else None
    return value


def sanitize_html(html: str) -> str:
    """Return `html` with only the allow-listed tags and attributes; "" when nothing is left."""
    try:
        cleaned = nh3.clean(
            html,
            tags=set(ALLOWED_TAGS),
            clean_content_tags={"script", "style", "title", "head", "template", "noscript"},
            attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
            attribute_filter=_filter_attribute,
            url_schemes={"http", "https", "mailto", "cid"},
            link_rel="noopener noreferrer",
            strip_comments=True,
        )
    except Exception:  # nh3 rejects e.g. lone surrogates; the text part still carries the words
        return ""
    return cleaned.strip()


_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "div",
        "dl",
        "dt",
        "dd",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "li",
        "ol",
        "p",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextWriter(HTMLParser):
    """Collects the visible text, one line per block, blockquotes as "> " lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skip_depth = 0
        self.pre_depth = 0
        self.href_stack: list[str] = []
        self.link_text: list[str] = []

    def flush(self) -> None:
        text = "".join(self.current)
        self.current = []
        if self.pre_depth:
            chunks = text.split("\n")
        else:
            chunks = [re.sub(r"[ \t\r\n\f]+", " ", text).strip()]
        prefix = "> " * self.quote_depth
        for chunk in chunks:
            if chunk or self.pre_depth:
                self.lines.append((prefix + chunk).rstrip())

    def blank_line(self) -> None:
        self.flush()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(("> " * self.quote_depth).rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self.flush()
        elif tag == "hr":
            self.flush()
            self.lines.append("-" * 20)
        elif tag == "blockquote":
            self.blank_line()
            self.quote_depth += 1
        elif tag == "pre":
            self.flush()
            self.pre_depth += 1
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "table"):
            self.blank_line()
        elif tag in _BLOCK_TAGS:
            self.flush()
            if tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th"):
            self.current.append(" ")
        elif tag == "a":
            self.href_stack.append(dict(attrs).get("href") or "")
            self.link_text = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "blockquote":
            self.flush()
            self.quote_depth = max(0, self.quote_depth - 1)
            self.blank_line()
        elif tag == "pre":
            self.flush()
            self.pre_depth = max(0, self.pre_depth - 1)
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "table"):
            self.blank_line()
        elif tag in _BLOCK_TAGS:
            self.flush()
        elif tag == "a" and self.href_stack:
            href = self.href_stack.pop()
            shown = "".join(self.link_text).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            # The address behind a link matters to an agent judging a phishing report.
            if target and target not in shown and href.lower().startswith(_LINK_SCHEMES):
                self.current.append(f" <{target}>")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.current.append(data)
        if self.href_stack:
            self.link_text.append(data)

    def text(self) -> str:
        self.flush()
        out: list[str] = []
        for line in self.lines:
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # one blank line between blocks is enough
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Return the readable text of `html`: paragraphs as lines, quoted mail as "> " lines."""
    writer = _TextWriter()
    try:
        writer.feed(html)
        writer.close()
    except Exception:  # HTMLParser is lenient, but its error paths are not a contract
        return re.sub(r"<[^>]*>", " ", html).strip()
    return writer.text()
