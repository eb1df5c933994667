"""Diagnostic details a customer adds when filing: what speeds up diagnosis (seeds 000, 004).

A ticket's `details` is a flat mapping of the keys below to short texts. Technical departments
ask for the device, system, browser and what was tried; a critical ticket must say which server
or order and which service, so the on-call engineer can act without asking back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from destek.lib.dates import format_when
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible


@dataclass(frozen=True)
class Detail:
    key: str
    label: str | Promise
    group: str  # "technical", "when" or "critical"
    max_length: int = 200
    multiline: bool = False
    help_text: str | Promise = ""


TECHNICAL = "technical"
#: When it started and in which time zone: asked by technical departments, required for critical.
WHEN = "when"
CRITICAL = "critical"

DEVICE_CHOICES = [
    ("computer", _("Computer")),
    ("smartphone", _("Smartphone")),
    ("tablet", _("Tablet")),
]

CATALOGUE: tuple[Detail, ...] = (
    Detail("device", _("Device"), TECHNICAL, 20),
    Detail(
        "os", _("Operating system and version"), TECHNICAL, help_text=_("For example Windows 11")
    ),
    Detail(
        "browser",
        _("Browser and version"),
        TECHNICAL,
        help_text=_("For example Chrome 119.0.6045.160"),
    ),
    Detail("app_version", _("App version, if you use the mobile app"), TECHNICAL, 50),
    Detail(
        "started_at",
        _("When did it start?"),
        WHEN,
        100,
        help_text=_("Date and approximate time"),
    ),
    Detail("time_zone", _("Your time zone"), WHEN, 64),
    Detail("steps", _("Steps to reproduce"), TECHNICAL, 5000, multiline=True),
    Detail("tried", _("What have you already tried?"), TECHNICAL, 2000, multiline=True),
    Detail("server_ip", _("Server IP address"), CRITICAL, 45),
    Detail("order_number", _("Order number"), CRITICAL, 50, help_text=_("For example #123456")),
    Detail(
        "service_name",
        _("Service name"),
        CRITICAL,
        help_text=_("As shown in your customer area"),
    ),
)
BY_KEY = {detail.key: detail for detail in CATALOGUE}
DEVICES = {value for value, _label in DEVICE_CHOICES}


def clean_details(raw: Mapping[str, Any]) -> dict[str, str]:
    """Known keys only, as trimmed single texts within their limits; empty values dropped.

    Unknown keys are refused rather than dropped, so an API client learns of a typo.
    """
    unknown = sorted(set(raw) - set(BY_KEY))
    if unknown:
        raise ActionRefused(
            "unknown_detail",
            _("Unknown detail: {key}.").format(key=unknown[0]),
        )
    cleaned: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise ActionRefused(
                "invalid_detail",
                _("{field} must be text.").format(field=BY_KEY[key].label),
                field=key,
            )
        detail = BY_KEY[key]
        text = strip_invisible(value).strip()
        if not detail.multiline:
            text = " ".join(text.split())
        if not text:
            continue
        if len(text) > detail.max_length:
            raise ActionRefused(
                "invalid_detail",
                _("{field} is too long (at most {limit} characters).").format(
                    field=detail.label, limit=detail.max_length
                ),
                field=key,
            )
        cleaned[key] = text
    if "device" in cleaned and cleaned["device"] not in DEVICES:
        raise ActionRefused("invalid_detail", _("Choose a device from the list."), field="device")
    if "server_ip" in cleaned:
        try:
            cleaned["server_ip"] = str(ipaddress.ip_address(cleaned["server_ip"]))
        except ValueError:
            raise ActionRefused(
                "invalid_detail",
                _("Enter a valid IPv4 or IPv6 address."),
                field="server_ip",
            ) from None
    return cleaned


def check_critical(details: Mapping[str, str]) -> None:
    """A critical ticket names its server or order, the service, and when it started in which
    time zone (seed 004): the on-call engineer acts on these at night without asking back."""
    if not (details.get("server_ip") or details.get("order_number")):
        raise ActionRefused(
            "critical_details_required",
            _("For a critical problem, give the server IP address or the order number."),
            field="server_ip",
        )
    if not details.get("service_name"):
        raise ActionRefused(
            "critical_details_required",
            _("For a critical problem, give the service name shown in your customer area."),
            field="service_name",
        )
    if not details.get("started_at"):
        raise ActionRefused(
            "critical_details_required",
            _("For a critical problem, say when it started (date and time)."),
            field="started_at",
        )
    if not details.get("time_zone"):
        raise ActionRefused(
            "critical_details_required",
            _("For a critical problem, give the time zone of the start time."),
            field="time_zone",
        )


def labelled(details: Mapping[str, str]) -> list[tuple[str | Promise, str]]:
    """(label, value) pairs in catalogue order, for the ticket pages."""
    device_labels = dict(DEVICE_CHOICES)
    rows: list[tuple[str | Promise, str]] = []
    for detail in CATALOGUE:
        value = details.get(detail.key)
        if value:
            shown = device_labels.get(value, value) if detail.key == "device" else value
            if detail.key == "started_at":
                shown = _started(value, details.get("time_zone", ""))
            rows.append((detail.label, str(shown)))
    return rows


def _started(value: str, zone_name: str) -> str:
    """ "When did it start?" as the reader reads dates ("3 December 2026, 21:30"), in the
    zone the customer named; the typed text when it is not a date and time."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is None:
        try:
            when = when.replace(tzinfo=ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            return format_when(when)
    with timezone.override(when.tzinfo):
        return format_when(when)
