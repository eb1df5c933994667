"""Words Django's admin shows whose Persian translation Django does not ship (its catalogue
lags its templates). They are listed here only so `make messages` puts them in our catalogue,
which Django reads before its own; nothing imports this module. The admin's JavaScript words
with the same gap are in `locale/fa/LC_MESSAGES/djangojs.po`, written by hand."""

from django.utils.translation import gettext_noop, ngettext_lazy

WORDS = [
    gettext_noop("Select this object for an action - {}"),
    gettext_noop("Breadcrumbs"),
    gettext_noop("Model name"),
    gettext_noop(
        "This action will <strong>enable</strong> password-based authentication for this user."
    ),
    gettext_noop("In case you’ve forgotten, you are:"),
]
PLURALS = [
    ngettext_lazy("Please correct the error below.", "Please correct the errors below.", 1),
    ngettext_lazy("entry", "entries", 1),
]
