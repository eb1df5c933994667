"""Which module speaks each messenger's API (platform.py says what each one offers)."""

from __future__ import annotations

from destek.messaging import meta, telegram, whatsapp
from destek.messaging.choices import ChannelKind
from destek.messaging.platform import Platform

PLATFORMS: dict[str, Platform] = {
    ChannelKind.TELEGRAM: telegram.PLATFORM,
    ChannelKind.WHATSAPP: whatsapp.PLATFORM,
    ChannelKind.MESSENGER: meta.MESSENGER,
    ChannelKind.INSTAGRAM: meta.INSTAGRAM,
}


def platform_for(kind: str) -> Platform:
    """The platform of a channel kind (KeyError for one not built)."""
    return PLATFORMS[kind]
