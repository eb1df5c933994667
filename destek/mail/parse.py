"""Reading one RFC 5322 message into plain data: the pure first step of the inbound pipeline.

`parse_message(raw)` never touches the database and never raises for a message it can read at
all; a message it cannot read raises `Unparseable` (the pipeline quarantines it).

Mail in the wild is broken in every way a standard allows and many it does not: charsets that
are wrong or unknown, encoded words cut in half, 8-bit bytes in headers, boundaries that never
close. Each of those is read as well as it can be and named in `defects`; only a message with
nothing to read at all is `Unparseable`.
"""

from __future__ import annotations

import codecs
import email
import email.utils
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from typing import Any

from destek.mail.html import html_to_text, sanitize_html


class Unparseable(Exception):
    """The bytes are not a message we can read; the reason is in the text."""


@dataclass(frozen=True)
class Address:
    email: str  # lower-cased, trimmed; "" when missing or unreadable
    name: str = ""


@dataclass(frozen=True)
class Part:
    """A file that came with the message: an attachment, an inline image, a forwarded mail."""

    filename: str  # as sent (decoded RFC 2047/2231); the tickets app normalises it
    content_type: str  # e.g. "image/png"; forwarded mails are "message/rfc822" with ".eml"
    payload: bytes
    content_id: str = ""  # without <>; set for inline (cid:) images
    inline: bool = False


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str  # without <>, "" when there is none
    in_reply_to: tuple[str, ...]  # ids without <>
    references: tuple[str, ...]  # ids without <>, oldest first
    subject: str  # decoded, one line
    sender: Address  # From (the first one)
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    delivered_to: tuple[str, ...]  # Delivered-To / X-Original-To / Envelope-To, lower-cased
    date: str  # the Date header as sent ("" when missing)
    headers: dict[str, str]  # lower-cased names -> decoded values of the headers guards need
    text: str  # the new text of the message: from text/plain, else from sanitised HTML
    quoted: str  # the quoted history that followed the new text ("" when none)
    html: str  # the sanitised HTML body, "" when there was none
    parts: tuple[Part, ...] = field(default_factory=tuple)
    defects: tuple[str, ...] = field(default_factory=tuple)  # what was broken but survived
    # Parts past DESTEK_MAIL_MAX_PARTS, or nested deeper than DESTEK_MAIL_MAX_DEPTH, were not
    # read (the raw message keeps them; the sender is told).
    capped: bool = False


# Headers the guards (loops, auto-replies, bounces, lists) read. Repeated headers are joined
# with ", ".
GUARD_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-loop",
    "return-path",
    "content-type",
    "x-failed-recipients",
    "feedback-type",
    "x-ms-exchange-generated-message-source",
    "x-mailer",
    "sender",
)
MAX_REFERENCES = 50
MAX_PARTS = 100  # MIME parts read at most (DESTEK_MAIL_MAX_PARTS); the rest is not parsed
MAX_DEPTH = 10  # nested multiparts deeper than this are kept whole as a file (…_MAX_DEPTH)
_MAX_DEFECTS = 50


# --- charsets -------------------------------------------------------------------------------

# Labels mail clients send that Python's codec registry does not know, or knows as something
# narrower than what the sender meant.
_CHARSET_ALIASES = {
    "win-1251": "cp1251",
    "windows-1251i": "cp1251",
    "x-cp1251": "cp1251",
    "cp-1251": "cp1251",
    "win1251": "cp1251",
    "x-mac-cyrillic": "mac_cyrillic",
    "koi8r": "koi8_r",
    "iso-8859-8-i": "iso8859_8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "us-ascii": "utf-8",  # an ASCII label on 8-bit text is nearly always UTF-8 meant
    "ascii": "utf-8",
    "iso-8859-9": "cp1254",  # same letters; cp1254 also has the Windows punctuation
    "iso8859-9": "cp1254",
    "latin5": "cp1254",
}


def _codec(label: str | None) -> str | None:
    """Return a codec name Python knows for a charset label, or None."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = name.split("*", 1)[0]  # RFC 2231 language: "utf-8*az"
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _guess_8bit(data: bytes) -> str:
    """Pick windows-1251 or windows-1254 for bytes that are neither their label nor UTF-8.

    Cyrillic text is made almost only of high bytes; Turkish, Azerbaijani Latin and Western
    text are mostly ASCII letters with a few high ones. windows-1254 is windows-1252 with the
    Turkish letters (ğ ı ş İ) in place of Icelandic ones, so Western text reads the same.
    """
    upper_half = sum(1 for b in data if 0xC0 <= b <= 0xDF)
    lower_half = sum(1 for b in data if b >= 0xE0)
    high = upper_half + lower_half
    letters = high + sum(1 for b in data if 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A)
    if not letters or high * 2 <= letters:
        return "cp1254"
    # Most letters of a Cyrillic text are lower case: 0xE0-0xFF in windows-1251, but
    # 0xC0-0xDF in KOI8-R.
    return "koi8_r" if upper_half > lower_half else "cp1251"


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Decode text bytes: the declared charset, then UTF-8, then a windows code page.

    Never raises; the last resort replaces what it cannot read.
    """
    codec = _codec(charset)
    if charset and codec is None and defects is not None:
        defects.append(f"unknown-charset:{charset.strip()[:40]}")
    for candidate in (codec, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
            except Exception:  # noqa: S112 -- a broken codec (utf-7 on junk) is one more miss
                continue
    if defects is not None and charset and codec:
        defects.append(f"wrong-charset:{charset.strip()[:40]}")
    return data.decode(_guess_8bit(data), errors="replace")


def _surrogate_bytes(value: str) -> bytes:
    """The bytes behind a header value the parser kept as surrogate escapes."""
    return value.encode("utf-8", "surrogateescape")


# --- headers --------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_encoded_text(encoding: str, text: str) -> bytes | None:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return codecs.decode(cleaned.encode("ascii"), "base64")
        except Exception:
            return None
    raw = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return re.sub(
        rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"=\r\n", b"")
    )


def decode_header_text(value: str, fallback_charset: str | None = None) -> str:
    """Decode a header value: RFC 2047 encoded words and raw 8-bit bytes, never raising.

    Encoded words are decoded wherever they stand (clients put them inside quotes and words,
    against the RFC); adjacent words in one charset are joined before decoding, because
    senders cut a multi-byte character across two words. Whitespace between encoded words
    is dropped (RFC 2047 section 6.2).
    """
    if not value:
        return ""
    raw = _surrogate_bytes(value)
    if any(b >= 0x80 for b in raw):
        value = decode_bytes(raw, fallback_charset or "utf-8")
    pieces: list[tuple[str | None, bytes | str]] = []  # (charset, bytes) or (None, text)
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        previous_is_word = bool(pieces) and pieces[-1][0] is not None
        if between and not (previous_is_word and not between.strip()):
            pieces.append((None, between))
        decoded = _decode_encoded_text(match.group(2), match.group(3))
        if decoded is None:
            pieces.append((None, match.group(0)))
        else:
            charset = match.group(1).lower()
            if pieces and pieces[-1][0] == charset and isinstance(pieces[-1][1], bytes):
                pieces[-1] = (charset, pieces[-1][1] + decoded)
            else:
                pieces.append((charset, decoded))
        pos = match.end()
    pieces.append((None, value[pos:]))
    out = []
    for charset, chunk in pieces:
        out.append(chunk if isinstance(chunk, str) else decode_bytes(chunk, charset))
    return "".join(out)


def _one_line(value: str) -> str:
    value = value.replace("\x00", "")
    return re.sub(r"[\r\n\t ]+", " ", value).strip()


class _Headers:
    """Raw header access that does not trust the header registry with broken input."""

    def __init__(self, msg: Message, fallback_charset: str | None) -> None:
        self.items: list[tuple[str, str]] = []
        try:
            for name, value in msg.raw_items():
                self.items.append((str(name).lower().strip(), str(value)))
        except Exception:  # noqa: S110 -- nothing readable is the same as no headers here
            pass
        self.fallback = fallback_charset

    def raw_all(self, name: str) -> list[str]:
        return [value for key, value in self.items if key == name]

    def text(self, name: str) -> str:
        values = self.raw_all(name)
        return _one_line(decode_header_text(values[0], self.fallback)) if values else ""

    def joined(self, name: str) -> str:
        return ", ".join(
            _one_line(decode_header_text(value, self.fallback)) for value in self.raw_all(name)
        )


def _addresses(values: Iterable[str], fallback: str | None) -> tuple[Address, ...]:
    """Parse address headers before decoding names, so an encoded comma stays in the name."""
    result = []
    for value in values:
        value = _one_line(value)
        try:
            pairs = email.utils.getaddresses([value])
        except Exception:
            pairs = [("", token) for token in re.findall(r"[^\s<>,;\"]+@[^\s<>,;\"]+", value)]
        for name, addr in pairs:
            addr = addr.strip().strip("<>").strip().lower()
            if "@" not in addr or any(ch.isspace() for ch in addr):
                addr = decode_header_text(addr, fallback).strip().lower()
                if "@" not in addr or any(ch.isspace() for ch in addr):
                    addr = ""
            display = _one_line(decode_header_text(name, fallback)).strip("\"' ")
            if addr or display:
                result.append(Address(email=addr, name=display))
    return tuple(result)


_MSG_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")


def parse_message_ids(value: str) -> list[str]:
    """Ids from a Message-ID, In-Reply-To or References value, without angle brackets.

    Junk between ids (comments, stray words, dates from old clients) is skipped; a value with
    no angle brackets at all is read as whitespace-separated ids containing "@".
    """
    value = value.replace("\x00", "")
    ids = _MSG_ID.findall(value)
    if not ids:
        ids = [token.strip("<>,;\"'") for token in value.split() if "@" in token]
    seen: set[str] = set()
    unique = []
    for item in ids:
        if item and item not in seen and len(item) <= 500:
            seen.add(item)
            unique.append(item)
    return unique


def _cap_references(ids: list[str]) -> list[str]:
    """Keep the thread's first id and the newest ones (RFC 5322 section 3.6.4 trims the same)."""
    if len(ids) <= MAX_REFERENCES:
        return ids
    return [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


# --- quoted history -------------------------------------------------------------------------

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_ATTRIBUTION = [
    # en: "On Mon, 3 Jun 2024 at 10:15, Ali <ali@example.az> wrote:", Apple "On 3 Jun 2024, at"
    re.compile(r"^\s*On\b.{4,300}\b(wrote|writes)\s*:\s*$", re.IGNORECASE),
    # az (Gmail): "B.e., 3 iyn 2024, 10:15 tarixində Ali Veli <ali@example.az> yazdı:"
    re.compile(r"^.{0,300}\b(tarixində|tarixinde)\b.{0,300}yazdı\s*:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,300}(\d|@).{0,300}\byazdı\s*:\s*$", re.IGNORECASE),
    # tr: "3 Haz 2024 Pzt, 10:15 tarihinde Ali <ali@example.com.tr> şunu yazdı:"
    re.compile(r"^.{0,300}\bşunu\s+yazdı\s*:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,300}\btarihinde\b.{0,300}yazdı\s*:\s*$", re.IGNORECASE),
    # ru: "3 июня 2024 г., в 10:15, Иван <ivan@example.ru> написал(а):", Gmail ends with ">:"
    re.compile(r"^.{0,300}(написал|написала|написал\(а\)|пишет)\s*:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,300}\d{4}\s*г\.?,?\s*в\s*\d{1,2}:\d{2}.{0,300}>\s*:\s*$", re.IGNORECASE),
    # fa: "در تاریخ دوشنبه ۳ ژوئن ۲۰۲۴ ساعت ۱۰:۱۵ علی <ali@example.ir> نوشت:"
    re.compile(r"^.{0,300}\sنوشت\s*:?\s*$"),
]
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Исходное сообщение|Orijinal İleti|Özgün İleti|"
    r"Orijinal Mesaj|Orijinal məktub|پیام اصلی)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FROM_LABEL = re.compile(r"^\s*\*?(From|От|Kimden|Kimdən|Göndərən|از|فرستنده)\s*:\*?\s*\S", re.I)
_SENT_LABEL = re.compile(
    r"^\s*\*?(Sent|Date|Отправлено|Дата|Gönderildi|Gönderilme|Tarih|Göndərilib|Tarix|"
    r"ارسال|تاریخ|ارسال شده)\s*:\*?\s*\S",
    re.IGNORECASE,
)
_TO_OR_SUBJECT_LABEL = re.compile(
    r"^\s*\*?(To|Subject|Cc|Кому|Тема|Kime|Konu|Kimə|Mövzu|به|موضوع)\s*:\*?", re.IGNORECASE
)
_RULE = re.compile(r"^\s*(_{10,}|-{10,})\s*$")


def _is_quote(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _is_attribution(lines: list[str], i: int) -> int:
    """How many lines the attribution starting at line i spans (0: none)."""
    for span in (1, 2):
        if i + span > len(lines):
            break
        candidate = _BIDI.sub("", " ".join(line.strip() for line in lines[i : i + span]))
        if len(candidate) > 600 or _is_quote(lines[i]):
            break
        if any(pattern.match(candidate) for pattern in _ATTRIBUTION):
            return span
    return 0


def _is_outlook_header(lines: list[str], i: int) -> bool:
    """ "From: ...", then "Sent:" or "Date:" and "To:"/"Subject:" within the next few lines."""
    if not _FROM_LABEL.match(_BIDI.sub("", lines[i])):
        return False
    following = [_BIDI.sub("", line) for line in lines[i + 1 : i + 6]]
    return any(_SENT_LABEL.match(line) for line in following) and any(
        _TO_OR_SUBJECT_LABEL.match(line) for line in following
    )


def _only_quotes_after(lines: list[str], start: int) -> bool:
    return all(_is_quote(line) or not line.strip() for line in lines[start:])


def _history_start(lines: list[str]) -> int | None:
    """The index of the first line of quoted history, or None when there is none.

    Conservative on purpose: a line that only looks like a reply header, an attribution that
    is followed by the sender's own answer (bottom posting, inline answers), or quotes with
    new text after them all stay in the text. Losing a customer's words to a fold is worse
    than showing an agent some history.
    """
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        span = _is_attribution(lines, i)
        if span:
            rest = i + span
            next_lines = [n for n in lines[rest:] if n.strip()]
            if not next_lines or not _is_quote(next_lines[0]) or _only_quotes_after(lines, rest):
                return i
            continue
        if _ORIGINAL_MESSAGE.match(line) or _is_outlook_header(lines, i):
            before = i - 1
            while before >= 0 and not lines[before].strip():
                before -= 1
            return before if before >= 0 and _RULE.match(lines[before]) else i
    # A trailing run of "> " lines (with blank lines in it) is history; quotes followed by the
    # sender's words are an inline answer and stay.
    end = len(lines)
    start = end
    while start > 0 and (_is_quote(lines[start - 1]) or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    if start >= end:
        return None
    return start


def split_quoted(text: str) -> tuple[str, str]:
    """Split a plain-text body into the new text and the quoted history that follows it.

    Nothing is lost: every line of `text` is in one of the two, in order; only blank lines at
    the seam are dropped. The "-- " signature stays with the new text.
    """
    lines = text.split("\n")
    start = _history_start(lines)
    if start is None:
        return text.strip("\n"), ""
    new = lines[:start]
    while new and not new[-1].strip():
        new.pop()  # blank lines before the history; "-- " keeps its space
    return "\n".join(new).strip("\n"), "\n".join(lines[start:]).strip("\n")


# --- bodies and parts -----------------------------------------------------------------------


def _normalize_newlines(text: str, defects: list[str]) -> str:
    if "\x00" in text:
        defects.append("nul-bytes")
        text = text.replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _safe(call: Any, default: Any) -> Any:
    try:
        return call()
    except Exception:
        return default


def _param(part: Message, header: str, name: str, fallback: str | None) -> str:
    """A MIME parameter (RFC 2231 continuations and charsets included), decoded."""
    try:
        value = part.get_param(name, None, header=header)
    except Exception:
        value = None
    if value is None:
        return ""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text)
        charset, _language, text = value
        # The parser has already joined the continuations and undone the %XX escapes, one
        # character per byte (as `email.utils.collapse_rfc2231_value` expects).
        try:
            data = str(text).encode("raw-unicode-escape")
        except Exception:
            data = _surrogate_bytes(str(text))
        decoded = decode_bytes(data, charset or "utf-8")
        return _one_line(decoded)
    return _one_line(decode_header_text(str(value).strip('"'), fallback))


def _filename(part: Message, fallback: str | None) -> str:
    name = _param(part, "content-disposition", "filename", fallback)
    if not name:
        name = _param(part, "content-type", "name", fallback)
    # Keep the name as sent apart from path separators, which only ever hurt.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:255]


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        raw = part.get_payload()
    except Exception:
        raw = ""
    if isinstance(raw, str):
        defects.append("undecodable-part")
        return _surrogate_bytes(raw)
    return b""


def _message_bytes(msg: Message) -> bytes:
    """The bytes of an embedded message, as close to what was sent as the parser allows."""
    try:
        return msg.as_bytes(policy=policy.compat32)
    except Exception:
        try:
            return _surrogate_bytes(msg.as_string(policy=policy.compat32))
        except Exception:
            return b""


def _content_type(part: Message) -> str:
    value = _safe(part.get_content_type, "application/octet-stream")
    return str(value).lower() if value else "application/octet-stream"


def _unique_default_name(stem: str, content_type: str, index: int) -> str:
    extension = mimetypes.guess_extension(content_type) or (
        ".txt" if content_type.startswith("text/") else ".bin"
    )
    return f"{stem}-{index}{extension}"


_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def _eml_name(subject: str) -> str:
    stem = _FILENAME_UNSAFE.sub(" ", subject).strip(" .")[:120].strip()
    return "{}.eml".format(stem or "message")


@dataclass
class _Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    tnef_text: list[str] = field(default_factory=list)
    tnef_html: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    max_depth: int = MAX_DEPTH


def _unpack_tnef(data: bytes, filename: str, into: _Collected) -> None:
    """Unpack winmail.dat into its files and body; keep it whole when it cannot be read."""
    try:
        from tnefparse.tnef import TNEF

        tnef = TNEF(data, do_checksum=False)
        files = []
        for index, attachment in enumerate(tnef.attachments, start=1):
            name = str(attachment.long_filename() or attachment.name or "").strip("\x00 ")
            payload = attachment.data if isinstance(attachment.data, bytes) else b""
            if not name:
                name = f"attachment-{index}.bin"
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            files.append(Part(filename=name, content_type=kind, payload=payload))
        codepage = tnef.codepage or "cp1252"
        body = tnef.body
        if isinstance(body, bytes):
            body = decode_bytes(body.rstrip(b"\x00"), codepage)
        html = tnef.htmlbody
        if isinstance(html, bytes):
            html = decode_bytes(html.rstrip(b"\x00"), "utf-8")
    except Exception:
        into.defects.append("unreadable-tnef")
        into.parts.append(
            Part(filename=filename or "winmail.dat", content_type=TNEF_TYPE, payload=data)
        )
        return
    into.parts.extend(files)
    if isinstance(body, str) and body.strip("\x00 \r\n"):
        into.tnef_text.append(body.rstrip("\x00"))
    if isinstance(html, str) and html.strip("\x00 \r\n"):
        into.tnef_html.append(html.rstrip("\x00"))
    if not files and not into.tnef_text and not into.tnef_html:
        # Only an RTF body or something we do not read: the file itself is what we have.
        into.parts.append(
            Part(filename=filename or "winmail.dat", content_type=TNEF_TYPE, payload=data)
        )


TNEF_TYPE = "application/ms-tnef"


def _walk(part: Message, into: _Collected, fallback: str | None, depth: int) -> None:
    try:
        _walk_part(part, into, fallback, depth)
    except RecursionError:
        raise
    except Exception as exc:
        # Never lose a part: what cannot be read is kept as it came.
        into.defects.append(f"unreadable-part:{type(exc).__name__}")
        into.parts.append(
            Part(
                filename=f"part-{len(into.parts) + 1}.bin",
                content_type="application/octet-stream",
                payload=_message_bytes(part),
            )
        )


def _walk_part(part: Message, into: _Collected, fallback: str | None, depth: int) -> None:
    for defect in getattr(part, "defects", []) or []:
        into.defects.append(type(defect).__name__)
    ctype = _content_type(part)
    disposition = (_safe(part.get_content_disposition, None) or "").lower()
    filename = _filename(part, fallback)
    content_id = ""
    for value in _Headers(part, fallback).raw_all("content-id")[:1]:
        content_id = _one_line(value).strip().strip("<>").strip()

    if ctype in ("message/rfc822", "message/global"):
        inner = _safe(lambda: part.get_payload(0), None)
        if isinstance(inner, Message):
            payload = _message_bytes(inner)
            subject = _Headers(inner, fallback).text("subject")
        else:
            payload = _payload_bytes(part, into.defects)
            subject = ""
        if not filename.lower().endswith(".eml"):
            filename = _eml_name(filename or subject)
        into.parts.append(Part(filename=filename, content_type="message/rfc822", payload=payload))
        return

    if ctype.startswith("message/") and part.is_multipart():
        # delivery-status, disposition-notification: the parser split them into header
        # blocks; keep the report as a text file.
        payload = b"\n".join(
            _message_bytes(sub) for sub in part.get_payload() if isinstance(sub, Message)
        )
        name = filename or "{}.txt".format(ctype.split("/", 1)[1])
        into.parts.append(Part(filename=name, content_type=ctype, payload=payload))
        return

    if part.is_multipart():
        if depth >= into.max_depth:
            into.defects.append("too-deep")
            into.parts.append(
                Part(
                    filename="nested.eml",
                    content_type="message/rfc822",
                    payload=_message_bytes(part),
                )
            )
            return
        children = _safe(part.get_payload, [])
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Message):
                _walk(child, into, fallback, depth + 1)
        return

    if ctype == TNEF_TYPE or filename.lower() == "winmail.dat":
        _unpack_tnef(_payload_bytes(part, into.defects), filename, into)
        return

    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        data = _payload_bytes(part, into.defects)
        charset = _safe(lambda: part.get_param("charset"), None)
        charset = charset[2] if isinstance(charset, tuple) else charset
        text = _normalize_newlines(decode_bytes(data, charset, into.defects), into.defects)
        (into.plain if ctype == "text/plain" else into.html).append(text)
        return

    if not filename:
        stem = "image" if ctype.startswith("image/") else "attachment"
        filename = _unique_default_name(stem, ctype, len(into.parts) + 1)
    inline = disposition == "inline" or (bool(content_id) and disposition != "attachment")
    into.parts.append(
        Part(
            filename=filename,
            content_type=ctype,
            payload=_payload_bytes(part, into.defects),
            content_id=content_id,
            inline=inline,
        )
    )


def _body_charset(msg: Message) -> str | None:
    """The first declared body charset: the best guess for raw 8-bit bytes in headers."""
    try:
        for part in msg.walk():
            charset = part.get_param("charset")
            if isinstance(charset, str) and _codec(charset) not in (None, "ascii"):
                return charset
    except Exception:  # noqa: S110 -- a guess, not a requirement
        pass
    return None


def _check_input(raw: bytes) -> bytes:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise Unparseable("not bytes")
    raw = bytes(raw)
    if not raw.strip():
        raise Unparseable("empty message")
    return raw


def parse_message(
    raw: bytes, *, max_parts: int | None = None, max_depth: int | None = None
) -> ParsedMessage:
    """Read raw RFC 5322 bytes; raise `Unparseable` only when there is nothing to read.

    At most `max_parts` MIME parts are parsed, and multiparts nested deeper than `max_depth`
    are kept whole as a file (defaults: DESTEK_MAIL_MAX_PARTS and DESTEK_MAIL_MAX_DEPTH when
    the settings are loaded, else MAX_PARTS and MAX_DEPTH).
    """
    raw = _check_input(raw)
    if max_parts is None or max_depth is None:
        default_parts, default_depth = _limits()
        max_parts = default_parts if max_parts is None else max_parts
        max_depth = default_depth if max_depth is None else max_depth
    try:
        return _parse(raw, max_parts=max_parts, max_depth=max_depth)
    except Unparseable:
        raise
    except (Exception, RecursionError) as exc:
        raise Unparseable(f"{type(exc).__name__}: {exc}"[:300]) from exc


def _limits() -> tuple[int, int]:
    try:
        from django.conf import settings

        return (
            int(getattr(settings, "DESTEK_MAIL_MAX_PARTS", MAX_PARTS)),
            int(getattr(settings, "DESTEK_MAIL_MAX_DEPTH", MAX_DEPTH)),
        )
    except Exception:  # no settings configured: the parser is used on its own
        return MAX_PARTS, MAX_DEPTH


_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_DASH_LINE = re.compile(rb"^--([^\r\n]*)", re.M)


def cap_parts(raw: bytes, max_parts: int) -> tuple[bytes, bool]:
    """The message cut before its part number `max_parts + 1`, and whether it was cut.

    The standard library parses a whole MIME tree at once: a 1 MB mail of 10,000 tiny parts
    cost 44 s of CPU. So, before parsing, the boundary lines are counted on the raw bytes (a
    regular expression, milliseconds for megabytes); past the cap the message is cut there
    and the multiparts still open are closed, so the parser sees a well-formed shorter mail.
    """
    if raw.count(b"\n--") <= max_parts:
        return raw, False  # cannot have more parts than lines starting with "--"
    boundaries = {m.group(1) or m.group(2) for m in _BOUNDARY_PARAM.finditer(raw)}
    if not boundaries:
        return raw, False
    open_boundaries: list[bytes] = []  # innermost last
    seen = 0
    for match in _DASH_LINE.finditer(raw):
        line = match.group(1).rstrip(b" \t")
        if line.endswith(b"--") and line[:-2] in boundaries:
            closing = line[:-2]
            if closing in open_boundaries:
                del open_boundaries[open_boundaries.index(closing) :]
            continue
        if line not in boundaries:
            continue
        if line in open_boundaries:
            del open_boundaries[open_boundaries.index(line) + 1 :]
        else:
            open_boundaries.append(line)
        seen += 1
        if seen > max_parts:
            newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
            head = raw[: match.start()]
            closers = b"".join(
                newline + b"--" + boundary + b"--" for boundary in reversed(open_boundaries)
            )
            # The line break before a delimiter belongs to the delimiter (RFC 2046).
            if head.endswith(b"\r\n"):
                head = head[:-2]
            elif head.endswith(b"\n"):
                head = head[:-1]
            return head + closers + newline, True
    return raw, False


def _parse(raw: bytes, *, max_parts: int, max_depth: int) -> ParsedMessage:
    defects: list[str] = []
    raw, capped = cap_parts(raw, max_parts)
    if capped:
        defects.append("too-many-parts")
    if b"\x00" in raw:
        # NULs end strings in C-based mail tools and in databases; the text never needs them.
        defects.append("nul-bytes")
        raw = raw.replace(b"\x00", b"")
    if b"\r\n" in raw and re.search(rb"(?<!\r)\n", raw):
        defects.append("mixed-line-endings")
    msg = email.message_from_bytes(raw, policy=policy.default)
    fallback = _body_charset(msg)
    headers = _Headers(msg, fallback)
    if not headers.items:
        raise Unparseable("no headers")

    collected = _Collected(max_depth=max_depth)
    _walk(msg, collected, fallback, 0)
    defects.extend(collected.defects)

    html_parts = [sanitize_html(html) for html in collected.html]
    html = "\n".join(part for part in html_parts if part)
    body = "\n\n".join(text.strip("\n") for text in collected.plain if text.strip())
    if not body.strip() and html:
        body = html_to_text(html)
    if not body.strip() and collected.tnef_text:
        body = "\n\n".join(_normalize_newlines(t, defects) for t in collected.tnef_text)
    if collected.tnef_html and not html:
        html = sanitize_html("\n".join(collected.tnef_html))
        if not body.strip():
            body = html_to_text(html)
    text, quoted = split_quoted(body)

    from_values = headers.raw_all("from") or headers.raw_all("sender")
    senders = _addresses(from_values[:1], fallback)
    if not from_values:
        defects.append("no-from")
    reply_to = _addresses(headers.raw_all("reply-to")[:1], fallback)
    delivered = []
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        for address in _addresses(headers.raw_all(name), fallback):
            if address.email and address.email not in delivered:
                delivered.append(address.email)
    message_ids = parse_message_ids(" ".join(headers.raw_all("message-id")[:1]))
    references = _cap_references(parse_message_ids(" ".join(headers.raw_all("references"))))
    guard_headers = {name: headers.joined(name) for name in GUARD_HEADERS if headers.raw_all(name)}

    unique_defects = list(dict.fromkeys(defects))[:_MAX_DEFECTS]
    return ParsedMessage(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=tuple(parse_message_ids(" ".join(headers.raw_all("in-reply-to")))[:10]),
        references=tuple(references),
        subject=headers.text("subject"),
        sender=senders[0] if senders else Address(email=""),
        reply_to=reply_to[0] if reply_to else None,
        to=_addresses(headers.raw_all("to"), fallback),
        cc=_addresses(headers.raw_all("cc"), fallback),
        delivered_to=tuple(delivered),
        date=headers.text("date"),
        headers=guard_headers,
        text=text,
        quoted=quoted,
        html=html,
        parts=tuple(collected.parts),
        defects=tuple(unique_defects),
        capped=capped or "too-deep" in collected.defects,
    )
