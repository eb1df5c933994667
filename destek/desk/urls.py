from __future__ import annotations

from django.urls import path

from destek.desk import (
    away_views,
    cc_views,
    chat_views,
    demo_mail_views,
    incident_views,
    kb_views,
    macro_views,
    people_views,
    reports_views,
    saved_view_pages,
    views,
)

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    # Saved views (desk/saved_view_pages.py)
    path("views/", saved_view_pages.save, name="view_save"),
    path("views/<int:view_id>/", saved_view_pages.change, name="view_change"),
    path("views/<int:view_id>/move/", saved_view_pages.move, name="view_move"),
    path("views/<int:view_id>/delete/", saved_view_pages.delete, name="view_delete"),
    path("phone/", views.phone, name="phone"),
    path("away/", away_views.away, name="away"),
    path("tickets/<int:number>/", views.ticket, name="ticket"),
    path("tickets/<int:number>/thread/", views.thread, name="thread"),
    path("tickets/<int:number>/presence/", views.ticket_presence, name="presence"),
    path("tickets/<int:number>/articles/", kb_views.links, name="kb_links"),
    # The forms of the ticket page, one view each
    path("tickets/<int:number>/reply/", views.reply, name="reply"),
    path("tickets/<int:number>/template/", views.send_template, name="send_template"),
    path("tickets/<int:number>/note/", views.note, name="note"),
    path("tickets/<int:number>/macros/", views.macro_preview, name="macro_preview"),
    path(
        "tickets/<int:number>/macros/<int:macro_id>/apply/",
        views.macro_apply,
        name="macro_apply",
    ),
    path("tickets/<int:number>/merge/", views.merge, name="merge"),
    path("tickets/<int:number>/assign/", views.assign, name="assign"),
    path("tickets/<int:number>/fields/", views.fields, name="fields"),
    path("tickets/<int:number>/close/", views.close, name="close"),
    path("tickets/<int:number>/time/", views.log_time, name="time"),
    path("tickets/<int:number>/tags/", views.tags, name="tags"),
    path("tickets/<int:number>/incident/", incident_views.link, name="incident_link"),
    path(
        "tickets/<int:number>/incident/<int:incident_id>/unlink/",
        incident_views.unlink,
        name="incident_unlink",
    ),
    path("tags/", views.tag_suggestions, name="tag_suggestions"),
    # Incidents and their tickets (desk/incident_views.py)
    path("incidents/", incident_views.incidents, name="incidents"),
    path("incidents/<int:incident_id>/", incident_views.incident, name="incident"),
    path("incidents/<int:incident_id>/resolve/", incident_views.resolve, name="incident_resolve"),
    path("incidents/<int:incident_id>/reply/", incident_views.reply_all, name="incident_reply"),
    # The agent's own macros (desk/macro_views.py)
    path("macros/", macro_views.mine, name="macros"),
    path("macros/<int:macro_id>/delete/", macro_views.delete, name="macro_delete"),
    path("tickets/<int:number>/follow/", cc_views.follow, name="follow"),
    path("tickets/<int:number>/unfollow/", cc_views.unfollow, name="unfollow"),
    path("tickets/<int:number>/cc/", cc_views.cc_add, name="cc_add"),
    path("tickets/<int:number>/cc/remove/", cc_views.cc_remove, name="cc_remove"),
    # Customers and organisations (desk/people_views.py)
    path("customers/<int:customer_id>/", people_views.customer, name="customer"),
    path("customers/<int:customer_id>/edit/", people_views.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/notes/", people_views.customer_note, name="customer_note"),
    path("organisations/<int:organisation_id>/", people_views.organisation, name="organisation"),
    path(
        "organisations/<int:organisation_id>/notes/",
        people_views.organisation_note,
        name="organisation_note",
    ),
    path(
        "organisations/<int:organisation_id>/domains/",
        people_views.organisation_domains,
        name="organisation_domains",
    ),
    path(
        "organisations/<int:organisation_id>/members/",
        people_views.organisation_confirm,
        name="organisation_confirm",
    ),
    # Live chats (desk/chat_views.py)
    path("chats/", chat_views.inbox, name="chats"),
    path("chats/lists/", chat_views.inbox_lists, name="chat_lists"),
    path("chats/count/", chat_views.waiting_badge, name="chat_count"),
    path("chats/presence/", chat_views.presence, name="chat_presence"),
    path("chats/heartbeat/", chat_views.heartbeat, name="chat_heartbeat"),
    path("chats/<int:chat_id>/", chat_views.conversation, name="chat"),
    path("chats/<int:chat_id>/events", chat_views.chat_events, name="chat_events"),
    path("chats/<int:chat_id>/accept/", chat_views.accept, name="chat_accept"),
    path("chats/<int:chat_id>/send/", chat_views.send, name="chat_send"),
    path("chats/<int:chat_id>/note/", chat_views.note, name="chat_note"),
    path("chats/<int:chat_id>/typing/", chat_views.typing, name="chat_typing"),
    path("chats/<int:chat_id>/seen/", chat_views.seen, name="chat_seen"),
    path("chats/<int:chat_id>/end/", chat_views.end, name="chat_end"),
    path("chats/<int:chat_id>/transfer/", chat_views.transfer, name="chat_transfer"),
    # The demo mailbox (desk/demo_mail_views.py), admins only
    path("demo-mail/", demo_mail_views.mailbox, name="demo_mail"),
    path("demo-mail/<int:pk>/", demo_mail_views.mail, name="demo_mail_one"),
    path("demo-mail/<int:pk>/answer/", demo_mail_views.answer, name="demo_mail_answer"),
    # The knowledge base (desk/kb_views.py)
    path("kb/", kb_views.home, name="kb"),
    path("kb/new/", kb_views.new, name="kb_new"),
    path("kb/preview/", kb_views.preview, name="kb_preview"),
    path("kb/reports/", kb_views.report, name="kb_reports"),
    path("reports/", reports_views.page, name="reports"),
    path("kb/<int:pk>/", kb_views.article, name="kb_article"),
    path("kb/<int:pk>/files/", kb_views.upload, name="kb_upload"),
    path("kb/<int:pk>/<str:language>/", kb_views.text, name="kb_text"),
]
