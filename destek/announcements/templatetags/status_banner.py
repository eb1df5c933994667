"""`{% status_banner %}`: "We know about ...; you don't need to file a ticket" while an
incident is open (or maintenance in progress) for something the reader uses."""

from __future__ import annotations

from typing import Any

from django import template

from destek.announcements.selectors import banner_for

register = template.Library()


@register.inclusion_tag("announcements/_banner.html", takes_context=True)
def status_banner(
    context: template.Context, visitors: bool = False, target: str = ""
) -> dict[str, Any]:
    """For signed-in customers; with `visitors`, for people not signed in too (the way to the
    new-ticket form); `target` for its links (the chat widget opens them outside its
    frame). Not on the status pages themselves, which say it all."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    user = context.get("user")
    shown: list[Any] = []
    on_status = match is not None and match.namespace == "announcements"
    if user is not None and not on_status:
        if user.is_authenticated and user.is_customer:
            shown = banner_for(user)
        elif visitors and not user.is_authenticated:
            shown = banner_for(None)
    return {"banner": shown, "target": target}
