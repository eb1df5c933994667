"""Survey answers and the surveys sent, for the admin: read, filtered, never edited (an
answer is the customer's words; only the customer changes it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from destek.surveys import actions
from destek.surveys.models import SurveyAnswer, SurveySent


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # A deleted sent survey would let a second one go out; an answer is the customer's.
        return False


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(ReadOnlyAdmin):
    list_display = (
        "ticket_number",
        "customer",
        "agent",
        "department",
        "channel",
        "speed",
        "clarity",
        "tone",
        "solved",
        "escalated_at",
        "answered_at",
    )
    list_filter = ("solved", "channel", "department", "speed", "clarity", "tone", "answered_at")
    search_fields = ("=ticket__number", "customer__email", "agent__email", "comment")
    list_select_related = ("ticket", "customer", "agent", "department")
    date_hierarchy = "answered_at"
    ordering = ("-answered_at",)
    raw_id_fields = ("ticket", "customer", "agent")

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, answer: SurveyAnswer) -> str:
        return f"#{answer.ticket.number}"


@admin.register(SurveySent)
class SurveySentAdmin(ReadOnlyAdmin):
    list_display = ("ticket_number", "customer", "via", "sent_at", "token_version")
    list_filter = ("via", "sent_at")
    search_fields = ("=ticket__number", "customer__email")
    list_select_related = ("ticket", "customer")
    date_hierarchy = "sent_at"
    ordering = ("-sent_at",)
    raw_id_fields = ("ticket", "customer")
    actions = ["revoke_selected_links"]

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, sent: SurveySent) -> str:
        return f"#{sent.ticket.number}"

    @admin.action(description=_("Revoke the mailed links of the selected surveys"))
    def revoke_selected_links(self, request: HttpRequest, queryset: Any) -> None:
        count = sum(1 for sent in queryset if actions.revoke_links(sent.pk) is not None)
        self.message_user(
            request,
            _("{count} surveys' links no longer open the survey.").format(count=count),
            messages.SUCCESS,
        )
