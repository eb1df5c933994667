"""Which module speaks each messenger's API (platform.py says what each one offers)."""

from __future__ import annotations

from destek.messaging import telegram
from destek.messaging.choices import ChannelKind
from destek.messaging.platform import Platform

PLATFORMS: dict[str, Platform] = {
    ChannelKind.TELEGRAM: telegram.PLATFORM,
}


def platform_for(kind: str) -> Platform:
    """The platform of a channel kind (KeyError for one not built)."""
    return PLATFORMS[kind]
