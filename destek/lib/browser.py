"""What the customer's browser already tells us, so the form need not ask (seed 000)."""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

#: Longer headers are not worth parsing: real ones are a few hundred characters.
MAX_USER_AGENT = 512


def _version(*parts: str | None) -> str:
    return ".".join(part for part in parts if part)


@lru_cache(maxsize=512)
def facts_from_user_agent(user_agent: str) -> dict[str, str]:
    """Device kind, operating system and browser with versions, from a User-Agent header.

    Only what the header really says; an unknown family gives no value rather than "Other".
    The browser's own script refines these where it knows better (Windows 11, for one, still
    sends "Windows NT 10.0").
    """
    result = parse(user_agent[:MAX_USER_AGENT])
    facts: dict[str, str] = {}
    agent, system, device = result.user_agent, result.os, result.device
    if system and system.family != "Other":
        facts["os"] = " ".join(filter(None, [system.family, _version(system.major, system.minor)]))
    if agent and agent.family != "Other":
        version = _version(agent.major, agent.minor, agent.patch, agent.patch_minor)
        facts["browser"] = " ".join(filter(None, [agent.family, version]))
    family = (device.family if device else "") or ""
    text = user_agent.lower()
    if "ipad" in text or "tablet" in text or family.lower().startswith("ipad"):
        facts["device"] = "tablet"
    elif "mobile" in text or "iphone" in text or (system and system.family == "Android"):
        facts["device"] = "smartphone"
    elif system and system.family in {
        "Windows",
        "Mac OS X",
        "macOS",
        "Linux",
        "Ubuntu",
        "Chrome OS",
    }:
        facts["device"] = "computer"
    return facts
