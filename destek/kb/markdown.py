"""Article bodies: Markdown in, sanitised HTML out.

Beyond CommonMark: a line `!video(<url>)` embeds a video from an allow-listed host (no other
iframes exist), `file:<name>` in a link or image points at the article's own uploaded file, and
pairs of `Q: ...` / `A: ...` lines become a FAQ list. Whatever the Markdown says, the HTML
passes the nh3 allow-list afterwards.

Images are only the article's uploaded files: a remote `<img>` would tell another server who
reads which article (and could change under us). Saving refuses them (`remote_images`);
rendering shows only their description, for bodies stored before that rule.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import nh3
from django.conf import settings
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_VIDEO = re.compile(r"^!video\((?P<url>[^)\s]+)\)\s*$", re.MULTILINE)
_FAQ_PAIR = re.compile(r"^Q:\s*(?P<q>.+)\n+A:\s*(?P<a>.+(?:\n(?!Q:|\n).+)*)", re.MULTILINE)
_FILE_REF = re.compile(r"\]\(file:(?P<name>[^)\s]+)\)")

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

#: Where the article's uploaded files are served; the only addresses an image may have.
UPLOADED = "/kb/files/"


def _uploaded(src: str) -> bool:
    return src.startswith(UPLOADED) and "//" not in src and "\\" not in src


def _image(
    self: RendererProtocol, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An uploaded image as usual; any other address as its description only."""
    token = tokens[idx]
    if _uploaded(str(token.attrGet("src") or "")):
        return str(self.image(tokens, idx, options, env))  # type: ignore[attr-defined]
    return html.escape(token.content)


_md.add_render_rule("image", _image)


def remote_images(body: str) -> list[str]:
    """The addresses of images in `body` that are not the article's uploaded files."""
    source = _FILE_REF.sub(lambda m: f"]({UPLOADED}file/)", body.replace("\r\n", "\n"))
    found: list[str] = []

    def walk(tokens: list[Token]) -> None:
        for token in tokens:
            if token.type == "image":
                src = str(token.attrGet("src") or "")
                if not _uploaded(src):
                    found.append(src)
            if token.children:
                walk(token.children)

    walk(_md.parse(source))
    # Markdown-it turns down some addresses (javascript:, file:) and leaves them as text;
    # what looks like an image with a scheme is refused all the same.
    for match in re.finditer(r"!\[[^\]]*\]\(\s*<?(?P<src>[a-zA-Z][\w+.-]*:[^)\s>]*)", source):
        if match.group("src") not in found:
            found.append(match.group("src"))
    return found


_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "h2", "h3",
    "h4", "a", "img", "hr", "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd",
    "figure", "iframe", "div",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "iframe": {"src", "title", "allowfullscreen", "loading", "referrerpolicy"},
    "div": {"class"},
    "dl": {"class"},
    "figure": {"class"},
    "ol": {"start"},
}


def video_embed_url(url: str) -> str | None:
    """The embed address of a video on an allow-listed host, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or host not in settings.DESTEK_KB_VIDEO_HOSTS:
        return None
    video_id = ""
    if host in ("www.youtube.com", "youtube.com", "m.youtube.com"):
        video_id = (parse_qs(parts.query).get("v") or [""])[0]
        if not video_id and parts.path.startswith("/embed/"):
            video_id = parts.path.split("/")[2]
    elif host == "youtu.be":
        video_id = parts.path.strip("/")
    elif host in ("vimeo.com", "player.vimeo.com"):
        digits = parts.path.strip("/").split("/")[-1]
        return f"https://player.vimeo.com/video/{digits}" if digits.isdigit() else None
    if re.fullmatch(r"[A-Za-z0-9_-]{11}", video_id or ""):
        return f"https://www.youtube-nocookie.com/embed/{video_id}"
    return None


def _videos(text: str) -> str:
    def embed(match: re.Match[str]) -> str:
        src = video_embed_url(match.group("url"))
        if src is None:
            return ""
        return (
            f'\n<figure class="video"><iframe src="{html.escape(src)}" title="video" '
            'loading="lazy" referrerpolicy="strict-origin-when-cross-origin" allowfullscreen>'
            "</iframe></figure>\n"
        )

    return _VIDEO.sub(embed, text)


def render(body: str, files: Mapping[str, str] | None = None) -> str:
    """Sanitised HTML of an article body. `files` maps uploaded file names to their URLs."""
    files = files or {}
    source = _FILE_REF.sub(
        lambda m: f"]({files.get(m.group('name'), '#missing-file')})", body.replace("\r\n", "\n")
    )
    placeholders: list[str] = []

    def hold(fragment: str) -> str:
        placeholders.append(fragment)
        return f"\n\nDESTEKBLOCK{len(placeholders) - 1}\n\n"

    source = _VIDEO.sub(lambda m: hold(_videos(m.group(0))), source)

    def faq(match: re.Match[str]) -> str:
        question = _md.renderInline(match.group("q").strip())
        answer = _md.renderInline(" ".join(match.group("a").split()))
        return hold(f'<dl class="faq"><dt>{question}</dt><dd>{answer}</dd></dl>')

    source = _FAQ_PAIR.sub(faq, source)
    rendered = _md.render(source)
    for index, fragment in enumerate(placeholders):
        rendered = rendered.replace(f"<p>DESTEKBLOCK{index}</p>", fragment)
    return nh3.clean(
        rendered,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"iframe": {"sandbox": "allow-scripts allow-same-origin"}},
        attribute_filter=_only_allowed_iframes,
    )


def _only_allowed_iframes(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _uploaded(value) else None
    if tag == "iframe" and attribute == "src":
        host = (urlsplit(value).hostname or "").lower()
        return value if host in ("www.youtube-nocookie.com", "player.vimeo.com") else None
    return value


def plain_text(body: str) -> str:
    """The words of a body for search and snippets, without Markdown marks or video lines."""
    text = _VIDEO.sub(" ", body)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s*(#{1,6}|[-*+]|\d+[.)]|Q:|A:|>)\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"[*_`]+", "", text)
    return text


_SHOWN_IMAGE = re.compile(r"<img\b[^>]*?\bsrc=\"(?!/kb/files/)")


def shown_html(body_html: str, body: str, files: Mapping[str, str]) -> str:
    """The stored HTML of a body, rendered again when it still holds an image from elsewhere
    (stored before remote images were refused)."""
    if "<img" in body_html and _SHOWN_IMAGE.search(body_html):
        return render(body, files)
    return body_html
