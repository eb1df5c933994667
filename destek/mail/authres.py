"""Whether a mail really comes from the address in its `From:`: the receiving server's verdict.

Our own mail server checks SPF, DKIM and DMARC and writes what it found into an
`Authentication-Results` header (RFC 8601), or an `ARC-Authentication-Results` one (RFC 8617).
We only read that verdict, never check signatures ourselves, and we believe it only when

- its authserv-id (the first word) names one of our own servers
  (DESTEK_MAIL_TRUSTED_AUTHSERV_IDS): anybody can write such a header into their mail;
- it is among the topmost headers: a receiving server adds its headers above the ones the
  sender wrote. We read from the top, start at the first trusted header and stop at the
  first `Received:` below it; for each method the topmost result counts, so a forged
  `dmarc=pass` below our server's `dmarc=fail` changes nothing.

The mail is verified when DMARC passed for its From domain, or SPF or DKIM passed for a
domain aligned with it (relaxed alignment, see `aligned`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from enum import StrEnum

from django.conf import settings

AR_HEADERS = ("authentication-results", "arc-authentication-results")


@dataclass(frozen=True)
class Result:
    """One `method=result` with its properties (`header.from`, `smtp.mailfrom`, ...)."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    results: tuple[Result, ...]


class Verdict(StrEnum):
    NOT_CHECKED = "not-checked"  # no trusted authserv-id is configured, or checking is off
    MISSING = "missing"  # no header from our servers
    VERIFIED = "pass"  # DMARC, or aligned SPF or DKIM, passed
    FAILED = "fail"  # our server checked, and nothing aligned passed


_COMMENT_OR_QUOTE = re.compile(r'"(?:[^"\\]|\\.)*"?|\(|\)|[^"()]+', re.S)
_TOKEN = re.compile(r'(?:"(?:[^"\\]|\\.)*"|[^\s"])+')


def _without_comments(value: str) -> str:
    """The header value with (nested) comments removed; quoted strings are kept whole."""
    out: list[str] = []
    depth = 0
    for piece in _COMMENT_OR_QUOTE.findall(value):
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(piece)
    return " ".join("".join(out).split())


def _split(value: str, separator: str) -> list[str]:
    """`value` split at `separator` outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _result(segment: str) -> Result | None:
    """`method[/version] = result [reason=...] [ptype.property=value ...]`."""
    segment = re.sub(r"\s*([=./])\s*", r"\1", segment.strip())
    tokens = _TOKEN.findall(segment)
    if not tokens or "=" not in tokens[0]:
        return None
    method, _eq, result = tokens[0].partition("=")
    method = method.split("/", 1)[0].lower()
    result = result.lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", method) or not re.fullmatch(r"[a-z]+", result):
        return None
    properties: dict[str, str] = {}
    for token in tokens[1:]:
        name, eq, value = token.partition("=")
        if not eq or "." not in name:
            continue  # reason=..., or something we do not read
        properties.setdefault(name.lower(), _unquote(value))
    return Result(method=method, result=result, properties=properties)


def parse(value: str, *, arc: bool = False) -> AuthResults | None:
    """One header's value, or None when it has no authserv-id. Never raises: whatever a
    sender writes into a header ends here."""
    try:
        return _parse(value, arc=arc)
    except (ValueError, TypeError, RecursionError):  # pragma: no cover - defensive
        return None


def _parse(value: str, *, arc: bool) -> AuthResults | None:
    segments = _split(_without_comments(str(value)), ";")
    if arc:
        # ARC-Authentication-Results: i=1; authserv-id; results...
        if len(segments) < 2 or not re.fullmatch(r"\s*i\s*=\s*\d+\s*", segments[0]):
            return None
        segments = segments[1:]
    head = segments[0].split()
    if not head:
        return None
    authserv_id = _unquote(head[0]).lower()
    if not authserv_id or "=" in authserv_id:
        return None
    results = tuple(
        found
        for found in (_result(segment) for segment in segments[1:])
        if found is not None and found.method != "none"
    )
    return AuthResults(authserv_id=authserv_id, results=results)


def trusted_results(
    headers: list[tuple[str, str]], trusted: frozenset[str]
) -> list[AuthResults] | None:
    """The verdicts of our own servers among `headers` (top first), or None when there is
    none: from the first trusted header down to the first `Received:` below it."""
    found: list[AuthResults] = []
    for name, value in headers:
        lowered = name.strip().lower()
        if lowered == "received" and found:
            break
        if lowered not in AR_HEADERS:
            continue
        results = parse(value, arc=lowered.startswith("arc-"))
        if results is not None and results.authserv_id in trusted:
            found.append(results)
    return found or None


def _domain_of(value: str) -> str:
    value = value.strip().strip("<>").lower()
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    return value.strip(".").strip()


def _looks_like_public_suffix(domain: str) -> bool:
    """Without the Public Suffix List: one label, or a short second level under a two-letter
    country code (com.tr, org.az, co.uk, ac.ir, com.ru ...). Errs on the strict side."""
    labels = domain.split(".")
    if len(labels) < 2:
        return True
    return len(labels) == 2 and len(labels[1]) == 2 and len(labels[0]) <= 3


def aligned(authenticated: str, from_domain: str) -> bool:
    """Relaxed alignment (DMARC, RFC 7489): the same organisational domain. Approximated
    without the Public Suffix List: the same domain, or one a subdomain of the other when the
    shorter one is not a public suffix. A doubtful case is not aligned (the mail is then
    unverified and the customer is asked to confirm it), never the other way round."""
    a, b = _domain_of(authenticated), _domain_of(from_domain)
    if not a or not b:
        return False
    if a == b:
        return True
    shorter, longer = sorted((a, b), key=len)
    return longer.endswith("." + shorter) and not _looks_like_public_suffix(shorter)


def verdict_of(results: list[AuthResults] | None, from_address: str) -> Verdict:
    """What our servers said about mail from `from_address`."""
    if results is None:
        return Verdict.MISSING
    from_domain = _domain_of(from_address)
    if not from_domain:
        return Verdict.FAILED
    # The topmost header that reports a method decides it.
    by_method: dict[str, tuple[Result, ...]] = {}
    for header in results:
        for method in {r.method for r in header.results}:
            by_method.setdefault(method, tuple(r for r in header.results if r.method == method))
    for result in by_method.get("dmarc", ()):
        claimed = result.properties.get("header.from", "")
        if result.result == "pass" and (not claimed or _domain_of(claimed) == from_domain):
            return Verdict.VERIFIED
    for result in by_method.get("dkim", ()):
        signer = result.properties.get("header.d") or result.properties.get("header.i", "")
        if result.result == "pass" and signer and aligned(signer, from_domain):
            return Verdict.VERIFIED
    for result in by_method.get("spf", ()):
        envelope = result.properties.get("smtp.mailfrom", "")
        if result.result == "pass" and envelope and aligned(envelope, from_domain):
            return Verdict.VERIFIED
    return Verdict.FAILED


def header_list(raw: bytes) -> list[tuple[str, str]]:
    """The message's header fields in order, top first (values unfolded)."""
    try:
        message = BytesHeaderParser(policy=compat32).parsebytes(bytes(raw).replace(b"\x00", b""))
        return [(str(name), " ".join(str(value).split())) for name, value in message.raw_items()]
    except Exception:  # a header we cannot read is a verdict we do not have
        return []


def verdict(raw: bytes, from_address: str) -> Verdict:
    """The verdict for a raw message, by the settings."""
    trusted = settings.DESTEK_MAIL_TRUSTED_AUTHSERV_IDS
    if not trusted or settings.DESTEK_MAIL_REQUIRE_AUTH == "off":
        return Verdict.NOT_CHECKED
    return verdict_of(trusted_results(header_list(raw), trusted), from_address)


def needs_confirmation(found: Verdict) -> bool:
    """Whether mail with this verdict is held until its sender confirms it."""
    if found == Verdict.FAILED:
        return True
    return found == Verdict.MISSING and settings.DESTEK_MAIL_REQUIRE_AUTH == "always"


def unverified(found: Verdict) -> bool:
    """Mail that was checked and not proven: its automatic answers count against the tighter
    cap, agents see a warning, and nothing about the account is done on its word."""
    return found in (Verdict.FAILED, Verdict.MISSING)
