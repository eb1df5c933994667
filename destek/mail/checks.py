"""System checks of the inbound mail settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register()
def sender_verification_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    if settings.DESTEK_MAIL_REQUIRE_AUTH == "always" and not (
        settings.DESTEK_MAIL_TRUSTED_AUTHSERV_IDS
    ):
        return [
            Warning(
                "DESTEK_MAIL_REQUIRE_AUTH=always, but no trusted authserv-id is configured: "
                "no mail can be verified, so none is checked.",
                hint="List your mail servers in DESTEK_MAIL_TRUSTED_AUTHSERV_IDS (see README, "
                "Forged senders).",
                id="destek.W111",
            )
        ]
    return []
