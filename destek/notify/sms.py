"""SMS through a configurable HTTP gateway, and phone numbers in E.164.

The gateway is whatever the operator's SMS provider offers: a URL, a method, a JSON body
template with `{to}`, `{text}` and `{sender}` placeholders, and one auth header. The template
is parsed as JSON and the placeholders are replaced inside its string values, never spliced
into JSON text: a message with quotes or braces cannot break or extend the request.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import phonenumbers
from django.conf import settings

PLACEHOLDER = re.compile(r"\{(to|text|sender)\}")
#: Gateways answer these when busy or slow; the rest of 4xx will not get better by retrying.
RETRYABLE_4XX = {408, 429}


class GatewayAnswer(Exception):
    """The gateway answered with a status that is not 2xx."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"SMS gateway answered {status}: {body[:200]}")
        self.status = status


class GatewayMissing(Exception):
    """SMS was switched off after the message was queued."""


def sms_enabled() -> bool:
    return bool(settings.DESTEK_SMS_GATEWAY_URL.strip())


def e164(raw: str, region: str | None = None) -> str | None:
    """The number in E.164 (`+994501234567`), or None when it is not a possible, valid one.
    A number typed without `+` is read as one of DESTEK_SMS_DEFAULT_REGION."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region or settings.DESTEK_SMS_DEFAULT_REGION or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        # One pass: a text that contains "{sender}" keeps it as typed.
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    return value


def body_template() -> Any:
    """The parsed template; raises ValueError when it is not JSON (a system check says so)."""
    return json.loads(settings.DESTEK_SMS_GATEWAY_BODY)


def fill_body(to: str, text: str) -> Any:
    return _fill(body_template(), {"to": to, "text": text, "sender": settings.DESTEK_SMS_SENDER})


def auth_header() -> dict[str, str]:
    """`Name: value` from DESTEK_SMS_GATEWAY_AUTH_HEADER, or nothing."""
    name, sep, value = settings.DESTEK_SMS_GATEWAY_AUTH_HEADER.partition(":")
    if not sep or not name.strip():
        return {}
    return {name.strip(): value.strip()}


def send(to: str, text: str) -> None:
    """One request to the gateway. Raises GatewayAnswer for a non-2xx answer and httpx's
    errors for a timeout or a network failure; `is_permanent` tells which to retry."""
    url = settings.DESTEK_SMS_GATEWAY_URL.strip()
    if not url:
        raise GatewayMissing("DESTEK_SMS_GATEWAY_URL is empty: SMS is switched off")
    method = settings.DESTEK_SMS_GATEWAY_METHOD or "POST"
    body = fill_body(to, text)
    request: dict[str, Any] = {"headers": {"Accept": "application/json", **auth_header()}}
    if method == "GET":
        fields = body if isinstance(body, dict) else {}
        request["params"] = {
            k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()
        }
    else:
        request["content"] = json.dumps(body, ensure_ascii=False).encode()
        request["headers"]["Content-Type"] = "application/json; charset=utf-8"
    # No redirects: the operator configured this URL, not whatever it points on to.
    with httpx.Client(timeout=settings.DESTEK_SMS_TIMEOUT, follow_redirects=False) as client:
        response = client.request(method, url, **request)
    if not 200 <= response.status_code < 300:
        raise GatewayAnswer(response.status_code, response.text)


def is_permanent(exc: Exception) -> bool | None:
    """For SMS errors: True (give up), False (retry with backoff); None if not an SMS error."""
    if isinstance(exc, GatewayAnswer):
        return 400 <= exc.status < 500 and exc.status not in RETRYABLE_4XX
    if isinstance(exc, httpx.TransportError):  # timeouts, refused connections, DNS
        return False
    if isinstance(exc, GatewayMissing | httpx.InvalidURL | httpx.UnsupportedProtocol):
        return True
    return None


def configuration_problems() -> list[str]:
    """What is wrong with the gateway settings, in words (for the system check)."""
    if not sms_enabled():
        return []
    problems = []
    parts = urlsplit(settings.DESTEK_SMS_GATEWAY_URL.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append("DESTEK_SMS_GATEWAY_URL is not an http(s) URL.")
    if settings.DESTEK_SMS_GATEWAY_METHOD not in ("GET", "POST", "PUT", "PATCH"):
        problems.append("DESTEK_SMS_GATEWAY_METHOD is not GET, POST, PUT or PATCH.")
    try:
        template = body_template()
    except ValueError as exc:
        problems.append(f"DESTEK_SMS_GATEWAY_BODY is not JSON: {exc}.")
    else:
        if "{text}" not in json.dumps(template) or "{to}" not in json.dumps(template):
            problems.append('DESTEK_SMS_GATEWAY_BODY has no "{to}" or no "{text}" placeholder.')
        if settings.DESTEK_SMS_GATEWAY_METHOD == "GET" and not isinstance(template, dict):
            problems.append("DESTEK_SMS_GATEWAY_BODY must be a JSON object for GET.")
    if settings.DESTEK_SMS_GATEWAY_AUTH_HEADER and not auth_header():
        problems.append('DESTEK_SMS_GATEWAY_AUTH_HEADER is not "Name: value".')
    return problems
