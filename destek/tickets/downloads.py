"""An attachment as the browser or API client receives it: always a download, never a page.

Used by the API and by the pages alike, after the one door (`access.access_attachment`) let
the file through. Whatever a customer uploads (HTML, SVG, a PDF with scripts) is sent as
opaque bytes: `application/octet-stream`, `nosniff`, a sandbox CSP and `attachment`, so it
can never run as part of our site.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse

from destek.tickets.models import Attachment

log = logging.getLogger(__name__)

#: What may appear in the plain `filename="..."` of the header: printable ASCII without
#: quotes, backslashes, or characters some browsers treat specially.
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9 ._()\[\]+,=@!#$&'~-]")


def ascii_filename(name: str) -> str:
    """A readable ASCII stand-in for clients that ignore `filename*`: accents dropped
    ("Müşteri" → "Musteri"), other scripts replaced, the extension kept."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""

    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = _UNSAFE_ASCII.sub("_", text.encode("ascii", "replace").decode("ascii"))
        return text.replace("?", "_")

    stem = plain(stem).strip(" ._") or "attachment"
    extension = plain(extension).strip(" ._")
    return f"{stem}.{extension}" if extension else stem


def content_disposition(name: str) -> str:
    """`attachment` with the name twice (RFC 6266): an ASCII `filename` for old clients and
    the real one, in UTF-8, as `filename*` (RFC 5987), which every current browser uses."""
    fallback = ascii_filename(name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file as a download; a file missing from storage is a 404 (logged), like a foreign
    one."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        log.error("attachment %s: file %s is missing", attachment.public_id, attachment.file.name)
        raise type(attachment).DoesNotExist from None
    response = FileResponse(handle, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition(attachment.filename)
    response["Content-Length"] = str(attachment.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # Someone's private file: no shared cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response
