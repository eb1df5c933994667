from __future__ import annotations

from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from destek.sla.choices import Weekday
from destek.sla.engine import holiday_dates


def minute_of_day(value: time, *, end: bool = False) -> int:
    """A range ending at 00:00 ends at midnight: minute 1440, not 0."""
    minutes = value.hour * 60 + value.minute
    return 1440 if end and minutes == 0 else minutes


class Calendar(models.Model):
    """Business hours: a time zone, weekly ranges, public holidays and the calendar's own dates."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Baku")
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=8,
        blank=True,
        help_text=_("Country code for public holidays (AZ, TR, RU, IR ...); empty for none."),
    )
    holiday_subdivision = models.CharField(_("region"), max_length=16, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": _("Unknown time zone.")}) from None
        if self.holiday_country:
            try:
                holiday_dates(self.holiday_country, [2026], self.holiday_subdivision or None)
            except ValueError:
                raise ValidationError(
                    {"holiday_country": _("No public holidays are known for this country.")}
                ) from None


class WeeklyHours(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(pgettext_lazy("time range", "from"))
    end = models.TimeField(
        pgettext_lazy("time range", "until"),
        help_text=_("00:00 means midnight at the end of the day."),
    )

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if minute_of_day(self.end, end=True) <= minute_of_day(self.start):
            raise ValidationError(_("The range must end after it starts."))


class CalendarDate(models.Model):
    """A date of the calendar's own: closed (a one-off closure), or open with given hours
    (an extra working day, or different hours); several rows give several ranges."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="dates")
    date = models.DateField(_("date"))
    closed = models.BooleanField(_("closed all day"), default=True)
    start = models.TimeField(pgettext_lazy("time range", "from"), null=True, blank=True)
    end = models.TimeField(pgettext_lazy("time range", "until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering = ["date", "start"]
        verbose_name = _("calendar date")
        verbose_name_plural = _("calendar dates")

    def __str__(self) -> str:
        return f"{self.date} {'closed' if self.closed else 'open'}"

    def clean(self) -> None:
        if not self.closed and (self.start is None or self.end is None):
            raise ValidationError(_("An open date needs its hours."))
