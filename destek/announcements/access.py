"""Who may post incidents and maintenance: admins always, agents given the permission
`announcements.manage` (in the admin: the user's permissions)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused

PERMISSION = "announcements.manage"


def may_manage(user: User | None) -> bool:
    if user is None or not user.is_active:
        return False
    if user.is_admin:
        return True
    return user.is_agent and user.has_perm(PERMISSION)


def require_manager(user: User | None) -> None:
    if not may_manage(user):
        raise ActionRefused(
            "forbidden",
            _("Only admins and agents allowed to post the service status may do this."),
            status=403,
        )
