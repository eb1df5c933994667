"""System checks of the notification settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register

from destek.notify.sms import configuration_problems


@register()
def sms_gateway_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    return [
        Warning(
            problem,
            hint="Fix the DESTEK_SMS_GATEWAY_* settings (see .env.example); SMS cannot be sent.",
            id="destek.W101",
        )
        for problem in configuration_problems()
    ]
