"""Time zones chosen from a list, never typed: the admin's select for every `time_zone`."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django import forms

from destek.lib.turkic import capfirst

#: The regions people live in; the profile and sign-up forms leave out the "Etc/" and
#: legacy aliases, which only an admin might need for a calendar.
REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


@functools.cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone this machine knows, sorted ("Asia/Baku", "Europe/Istanbul", ...)."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


@functools.cache
def personal_time_zone_choices() -> list[tuple[str, str]]:
    """UTC, then the zones of the regions people live in, as they read ("America/New York")."""
    names = sorted(n for n in zoneinfo.available_timezones() if n.startswith(REGIONS))
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


class TimeZoneSelectAdmin:
    """A ModelAdmin mixin: a model field named `time_zone` is a select of the known zones."""

    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name == "time_zone":
            return forms.ChoiceField(
                label=capfirst(db_field.verbose_name),
                choices=time_zone_choices(),
                initial=db_field.get_default(),
                required=not db_field.blank,
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
