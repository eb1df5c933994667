from __future__ import annotations

from django.urls import path

from destek.portal import account_views as account
from destek.portal import cc_views, chat_views, confirm, messenger_views, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", account.sign_in, name="login"),
    path("sign-in/code/", account.sign_in_code, name="sign_in_code"),
    path("sign-up/", account.sign_up, name="sign_up"),
    path("sign-up/sent/", account.sign_up_sent, name="sign_up_sent"),
    path("sign-up/resend/", account.sign_up_resend, name="sign_up_resend"),
    path("sign-up/verify/<str:token>/", account.verify_email, name="verify_email"),
    path("password-reset/", account.password_reset, name="password_reset"),
    path("password-reset/sent/", account.password_reset_sent, name="password_reset_sent"),
    path("password-reset/done/", account.password_reset_done, name="password_reset_done"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        account.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("my/profile/", account.profile, name="profile"),
    path("my/profile/password/", account.profile_password, name="profile_password"),
    path("my/profile/two-factor/start/", account.two_factor_start, name="two_factor_start"),
    path("my/profile/two-factor/", account.two_factor_setup, name="two_factor_setup"),
    path("my/profile/two-factor/codes/", account.two_factor_codes, name="two_factor_codes"),
    path("my/profile/two-factor/disable/", account.two_factor_disable, name="two_factor_disable"),
    path("my/profile/phone/code/", account.phone_start, name="phone_start"),
    path("my/profile/phone/verify/", account.phone_verify, name="phone_verify"),
    path("my/profile/addresses/", account.address_add, name="address_add"),
    path("my/profile/addresses/verify/", account.address_verify, name="address_verify"),
    path("my/profile/addresses/remove/", account.address_remove, name="address_remove"),
    path("my/profile/notifications/", account.notifications, name="notifications"),
    path("mail/confirm/<str:token>/", confirm.confirm_mail, name="confirm_mail"),
    path("my/profile/api-tokens/revoke/", account.api_token_revoke, name="api_token_revoke"),
    path("my/profile/messengers/link/", messenger_views.messenger_link, name="messenger_link"),
    path(
        "my/profile/messengers/unlink/", messenger_views.messenger_unlink, name="messenger_unlink"
    ),
    path("status/", views.status_start, name="status_start"),
    path("status/<uuid:lookup_id>/", views.status, name="status"),
    path(
        "status/<uuid:lookup_id>/files/<uuid:public_id>/",
        views.status_attachment,
        name="status_attachment",
    ),
    path("attachments/<uuid:public_id>/", views.attachment, name="attachment"),
    path("chat/widget/", chat_views.widget, name="chat_widget"),
    path("sign-out/", views.sign_out, name="logout"),
    path("my/tickets/", views.tickets, name="tickets"),
    path("my/tickets/new/", views.new_ticket, name="new"),
    path("my/tickets/<int:number>/", views.ticket, name="ticket"),
    path("my/tickets/<int:number>/reply/", views.reply, name="reply"),
    path("my/tickets/<int:number>/sms/", views.sms, name="sms"),
    path("my/tickets/<int:number>/cc/", cc_views.cc_add, name="cc_add"),
    path("my/tickets/<int:number>/cc/remove/", cc_views.cc_remove, name="cc_remove"),
    path("my/tickets/<int:number>/close/", views.transition, {"action": "close"}, name="close"),
    path("my/tickets/<int:number>/reopen/", views.transition, {"action": "reopen"}, name="reopen"),
]
