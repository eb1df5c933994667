"""The demo's sample tickets: about forty, in the customers' own five languages, both
departments, every status and channel, with replies, notes, a VIP ticket, breached ones and a
merge, so a visitor sees a working desk.

They are made through the real ticket actions (events, routing, service-level clocks and the
merge are real), then each step is moved back to when it happened, and the clocks are computed
again from that history. Nothing is mailed for them. Loading twice adds none: a sample is
skipped when its customer already has a ticket with its subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.notify.actions import outbox_paused
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.choices import Channel, CloseReason, Priority, TicketStatus
from destek.tickets.clock_jobs import sla_sweep_now
from destek.tickets.models import Department, Message, Ticket, TicketEvent

#: The sample customers beyond the demo logins: email, name, language (password `demo`).
CUSTOMERS = [
    ("nigar@example.com", "Nigar Həsənova", "az"),
    ("dmitri@example.com", "Дмитрий Соколов", "ru"),
    ("emma@example.com", "Emma Clarke", "en"),
    ("elif@example.com", "Elif Yılmaz", "tr"),
    ("mehmet@example.com", "Mehmet Demir", "tr"),
    ("sara@example.com", "سارا احمدی", "fa"),
    ("reza@example.com", "رضا کریمی", "fa"),
]

#: The agent who answers in each department.
AGENTS = {"technical": "agent@example.com", "finance": "finance@example.com"}

#: Ticket times that a step moves back to when it happened.
TIMES = (
    "created_at",
    "updated_at",
    "status_changed_at",
    "first_seen_at",
    "first_response_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "resolved_at",
    "closed_at",
)

#: A step: (kind, hours ago, text or value). Kinds: "reply:<status after>" (the department's
#: agent answers), "note", "customer" (the customer writes), "assign", "close:<reason>",
#: "priority" (to the value), "merge" (into the sample whose key is the value).
Step = tuple[str, float, str]


@dataclass(frozen=True)
class Sample:
    customer: str
    department: str
    channel: str
    hours_ago: float
    subject: str
    body: str
    steps: list[Step] = field(default_factory=list)
    urgency: str = Priority.NORMAL
    key: str = ""


T, F = "technical", "finance"
WEB, API, EMAIL, CHAT, TG, PHONE = (
    Channel.WEB,
    Channel.API,
    Channel.EMAIL,
    Channel.CHAT,
    Channel.TELEGRAM,
    Channel.PHONE,
)
WA, FB, IG = (
    Channel.WHATSAPP,
    Channel.MESSENGER,
    Channel.INSTAGRAM,
)
OPEN, PENDING, RESOLVED = (
    f"reply:{TicketStatus.OPEN}",
    f"reply:{TicketStatus.PENDING}",
    f"reply:{TicketStatus.RESOLVED}",
)
CLOSE = f"close:{CloseReason.RESOLVED}"
NO_REPLY = f"close:{CloseReason.NO_REPLY}"

SAMPLES = [
    # --- Azerbaijani -----------------------------------------------------------------------
    Sample(
        "customer@example.com",
        T,
        WEB,
        1.5,
        "Hesabat yüklənmir, ID 12345",
        "Salam. Şəxsi kabinetdə aylıq hesabatı yükləmək istəyəndə səhifə donur və heç nə "
        "baş vermir. Brauzer Chrome 126, Windows 11. Ekran görüntüsünü göndərə bilərəm.",
    ),
    Sample(
        "customer@example.com",
        F,
        WEB,
        26,
        "Kartdan pul çıxıb, Allin Wallet balansı artmayıb",
        "Dünən saat 21:40-da balansı 50 AZN artırdım. Pul kartdan çıxıb, amma balans "
        "dəyişməyib. Bank əməliyyatının nömrəsi: 884120.",
        [
            ("note", 25, "Bankın çıxarışında əməliyyat görünür, provayderdən təsdiq gözləyirik."),
            (
                PENDING,
                24,
                "Salam, Kamran bəy! Əməliyyatı tapdıq, ödəniş provayderindən təsdiq "
                "gözləyirik. Zəhmət olmasa, bank çıxarışının ekran görüntüsünü də göndərin.",
            ),
        ],
    ),
    Sample(
        "nigar@example.com",
        T,
        EMAIL,
        50,
        "İki mərhələli doğrulama kodu gəlmir",
        "Yeni telefon almışam, köhnəsi itib. Giriş zamanı kod istəyir, amma tətbiq artıq "
        "yoxdur. Hesabıma necə daxil ola bilərəm?",
        [
            ("assign", 49, ""),
            (
                OPEN,
                48,
                "Salam, Nigar xanım! Bərpa kodlarından biri ilə daxil ola bilərsiniz. "
                "Onlar da yoxdursa, hesabın sahibi olduğunuzu təsdiqləmək üçün qeydiyyatda "
                "istifadə etdiyiniz telefon nömrəsini yazın.",
            ),
            ("customer", 30, "Bərpa kodları da yoxdur. Nömrəm +994 55 123 45 67-dir."),
        ],
    ),
    Sample(
        "nigar@example.com",
        T,
        TG,
        120,
        "Tədbirə afişa şəkli əlavə olunmur",
        "Tədbir səhifəsinə afişa yükləyəndə “Fayl çox böyükdür” yazır, halbuki şəkil cəmi "
        "3 MB-dır.",
        [
            (
                RESOLVED,
                100,
                "Salam! Yükləmə limitində xəta var idi, düzəltdik. Zəhmət olmasa, "
                "şəkli yenidən yükləyin və nəticəni bizə bildirin.",
            ),
        ],
    ),
    Sample(
        "customer@example.com",
        T,
        PHONE,
        200,
        "Bilet satışı səhifəsi 502 xətası verir",
        "Müştəri zəng etdi: tədbir sabah başlayır, bilet satışı səhifəsi 502 xətası verir, "
        "alıcılar ödəniş edə bilmir.",
        [
            (RESOLVED, 198, "Kamran bəy, problem aradan qaldırıldı, bilet satışı bərpa olundu."),
            (CLOSE, 150, ""),
        ],
        urgency=Priority.HIGH,
    ),
    Sample(
        "customer@example.com",
        F,
        CHAT,
        3,
        "Fakturada platforma haqqı iki dəfə tutulub",
        "Bu ayın fakturasında platforma haqqı iki dəfə görünür: 12 AZN və yenə 12 AZN.",
        [
            (
                OPEN,
                2,
                "Salam! Fakturanı yoxlayırıq, artıq tutulan məbləğ təsdiqlənsə, "
                "balansınıza qaytarılacaq.",
            ),
        ],
    ),
    Sample(
        "nigar@example.com",
        F,
        EMAIL,
        70,
        "Pulun çıxarılması 3 gündür gözləmədədir",
        "Allin Wallet-dən karta 120 AZN çıxarmaq üçün sorğu göndərmişəm, 3 gündür "
        "“gözləmədə” statusundadır.",
        [
            (
                PENDING,
                57,
                "Salam, Nigar xanım! Sorğunuz bankda emal olunur. Kartın son dörd "
                "rəqəmini yazın ki, yoxlayaq.",
            )
        ],
        key="az-withdrawal",
    ),
    Sample(
        "nigar@example.com",
        F,
        WA,
        60,
        "Çıxarış sorğusu hələ də gözləmədədir",
        "Əvvəlki müraciətimə cavab gəlmədi, pul hələ də karta köçürülməyib.",
        [("merge", 58, "az-withdrawal")],
    ),
    # --- Russian -----------------------------------------------------------------------------
    Sample(
        "customer2@example.com",
        T,
        FB,
        0.5,
        "Не открывается контрольная панель аккаунта",
        "После смены пароля контрольная панель показывает пустую страницу. Браузер "
        "Firefox 127, кэш очищала.",
    ),
    Sample(
        "dmitri@example.com",
        T,
        EMAIL,
        30,
        "Ошибка 500 после переноса сайта на новый тариф",
        "Перенесли сайт на новый тариф, теперь вместо главной страницы ошибка 500. "
        "Сервер 185.12.34.56, домен sokolov-shop.ru.",
        [
            ("assign", 29.5, ""),
            ("note", 29, "В логах PHP: на новом сервере не включено расширение mbstring."),
            (
                PENDING,
                28,
                "Дмитрий, добрый день! На новом сервере не было расширения "
                "mbstring, мы его включили. Проверьте, пожалуйста, сайт.",
            ),
        ],
        urgency=Priority.HIGH,
    ),
    Sample(
        "customer2@example.com",
        F,
        IG,
        75,
        "Не проходит оплата продления хостинга картой",
        "Пытаюсь оплатить продление хостинга на год, платёж отклоняется без объяснений.",
        [
            (
                PENDING,
                72,
                "Ольга, здравствуйте! Банк отклонил платёж как подозрительный. "
                "Попробуйте, пожалуйста, ещё раз или другой картой.",
            ),
            ("customer", 50, "Оплатила другой картой, всё прошло. Спасибо!"),
            (RESOLVED, 48, "Рады, что всё получилось! Продление уже действует."),
        ],
    ),
    Sample(
        "dmitri@example.com",
        T,
        API,
        240,
        "SSL-сертификат не продлился автоматически",
        "Сертификат для sokolov-shop.ru истёк сегодня ночью, автопродление было включено.",
        [
            (
                RESOLVED,
                236,
                "Сертификат выпущен заново, автопродление снова работает. "
                "Причина была в изменённой DNS-записи.",
            ),
            (CLOSE, 100, ""),
        ],
    ),
    Sample(
        "customer2@example.com",
        T,
        TG,
        5,
        "Письма с сайта не доходят до клиентов",
        "Со вчерашнего дня письма с формы заказа не приходят клиентам, даже в спам.",
        [
            ("note", 4.5, "Адрес сервера попал в список рассылки спама, запросили удаление."),
            (
                OPEN,
                4,
                "Ольга, мы нашли причину и уже её устраняем. Напишем, как только "
                "письма снова начнут доходить.",
            ),
        ],
    ),
    Sample(
        "dmitri@example.com",
        F,
        PHONE,
        20,
        "Нужен закрывающий акт за май",
        "Клиент позвонил: для бухгалтерии нужен акт выполненных работ за май.",
        [(PENDING, 19, "Дмитрий, акт готов. Подтвердите, пожалуйста, реквизиты компании.")],
    ),
    Sample(
        "customer2@example.com",
        T,
        CHAT,
        100,
        "Как настроить резервное копирование базы данных?",
        "Хочу, чтобы база данных сайта копировалась каждую ночь. Где это настраивается?",
        [
            (
                PENDING,
                98,
                "Ольга, в контрольной панели откройте «Резервные копии» и включите "
                "ежедневное копирование. Получилось?",
            ),
            (NO_REPLY, 10, ""),
        ],
        urgency=Priority.LOW,
    ),
    Sample(
        "dmitri@example.com",
        T,
        EMAIL,
        2,
        "Сервер полностью не отвечает",
        "С 10:15 по Москве сервер 185.12.34.56 (VPS «Старт») не отвечает ни по HTTP, ни по "
        "SSH. Перезагрузка из панели не помогла.",
        [("priority", 1.9, Priority.CRITICAL)],
        urgency=Priority.CRITICAL,
    ),
    # --- English -----------------------------------------------------------------------------
    Sample(
        "vip@example.com",
        T,
        WEB,
        4,
        "Checkout page times out for our event attendees",
        "Since this morning the checkout page of our conference times out for about half of "
        "the attendees. Tickets go on sale to the public at 18:00.",
        [
            ("assign", 3.9, ""),
            ("note", 3.8, "Health checks of web-2 fail behind the load balancer."),
            (
                OPEN,
                3.5,
                "Hello Vusal, we see the timeouts too and have taken the failing "
                "server out of rotation. We will confirm within the hour.",
            ),
        ],
        urgency=Priority.HIGH,
    ),
    Sample(
        "vip@example.com",
        F,
        EMAIL,
        48,
        "Invoice needs our VAT number",
        "Please reissue invoice 2024-0613 with our VAT number AZ1403567891.",
        [(RESOLVED, 46, "Hello Vusal, the corrected invoice is in your account now.")],
    ),
    Sample(
        "emma@example.com",
        T,
        WEB,
        2,
        "Cannot add a video to my event page",
        "Pasting a YouTube link into the event description shows the link but no video.",
    ),
    Sample(
        "emma@example.com",
        T,
        CHAT,
        28,
        "Two-factor codes rejected after changing phone",
        "I moved my authenticator to a new phone and now every code is rejected.",
        [
            (
                PENDING,
                27,
                "Hello Emma, please check that the phone's clock is set "
                "automatically; codes depend on the exact time. Does it work then?",
            )
        ],
    ),
    Sample(
        "emma@example.com",
        F,
        WEB,
        150,
        "Refund for a cancelled event",
        "Our workshop on 14 June was cancelled. How do attendees get their money back?",
        [
            (
                RESOLVED,
                140,
                "Hello Emma, refunds for all 23 attendees have been issued; "
                "banks take 3 to 5 working days.",
            ),
            (CLOSE, 20, ""),
        ],
    ),
    Sample(
        "vip@example.com",
        T,
        API,
        10,
        "API returns 429 when syncing attendees",
        "Our nightly sync of attendees gets HTTP 429 after about 200 requests.",
        [
            ("note", 9, "Customer's sync sends 20 requests a second, the limit is 10."),
            (
                OPEN,
                8,
                "Hello Vusal, the sync exceeds 10 requests a second. Could you add a "
                "short pause between pages? We are raising your limit meanwhile.",
            ),
            ("customer", 6, "We added a pause. Can you confirm the new limit?"),
        ],
    ),
    Sample(
        "emma@example.com",
        T,
        TG,
        300,
        "How do I export the attendee list?",
        "I need the attendee list of my event as a spreadsheet for the venue.",
        [
            (
                RESOLVED,
                290,
                "Hello Emma, open the event, choose “Attendees” and then “Export CSV”.",
            ),
            (CLOSE, 120, ""),
        ],
        urgency=Priority.LOW,
    ),
    Sample(
        "emma@example.com",
        F,
        PHONE,
        0.3,
        "Wallet top-up does not show in the balance",
        "Caller topped up her wallet with 40 EUR an hour ago; the card was charged, the "
        "balance did not change.",
    ),
    # --- Turkish -----------------------------------------------------------------------------
    Sample(
        "mehmet@example.com",
        T,
        WEB,
        2.5,
        "Sunucu tamamen kullanılamıyor",
        "Sunucu IP adresi 91.201.44.17, hizmet adı “VDS Pro 4”. Sorun 09:05 (CET) civarında "
        "başladı; ping yanıt vermiyor, panelden yeniden başlatma da işe yaramadı.",
        [("priority", 2.4, Priority.CRITICAL)],
        urgency=Priority.CRITICAL,
    ),
    Sample(
        "elif@example.com",
        F,
        WEB,
        20,
        "Faturada şirket adı yanlış yazılmış",
        "Son faturamızda şirket adı “Yılmaz Ltd” yazıyor, doğrusu “Yılmaz Bilişim Ltd. Şti.”.",
        [
            (
                PENDING,
                18,
                "Merhaba Elif Hanım, vergi numaranızı da paylaşır mısınız? "
                "Faturayı düzeltip yeniden göndereceğiz.",
            )
        ],
    ),
    Sample(
        "elif@example.com",
        T,
        EMAIL,
        45,
        "E-posta hesabına giriş yapılamıyor",
        "info@yilmazbilisim.com.tr hesabına webmail üzerinden giremiyorum, şifre doğru.",
        [
            (
                OPEN,
                44,
                "Merhaba, hesabınız çok sayıda hatalı deneme nedeniyle geçici olarak "
                "kilitlenmiş. Kilidi açtık, tekrar dener misiniz?",
            ),
            ("customer", 40, "Teşekkürler, şimdi giriş yapabiliyorum."),
            (RESOLVED, 39, "Rica ederiz, iyi çalışmalar!"),
        ],
    ),
    Sample(
        "mehmet@example.com",
        T,
        PHONE,
        6,
        "VPS yeniden başlatıldıktan sonra ağ bağlantısı yok",
        "Müşteri aradı: VPS yeniden başlatıldıktan sonra ağ arayüzü gelmiyor, site kapalı.",
        [
            ("assign", 5.8, ""),
            (OPEN, 5, "Mehmet Bey, konsoldan bağlanıp ağ ayarlarını kontrol ediyoruz."),
        ],
        urgency=Priority.HIGH,
    ),
    Sample(
        "elif@example.com",
        F,
        CHAT,
        90,
        "Ödeme iki kez çekildi",
        "Aylık paket ödemesi kartımdan iki kez çekildi, ekstreyi ekledim.",
        [
            (RESOLVED, 85, "Merhaba Elif Hanım, fazla çekilen tutar iade edildi."),
            (CLOSE, 30, ""),
        ],
    ),
    Sample(
        "mehmet@example.com",
        T,
        API,
        1,
        "DNS kayıtları güncellenmiyor",
        "Panelden A kaydını değiştirdim ama iki saattir eski adres dönüyor.",
    ),
    Sample(
        "elif@example.com",
        T,
        TG,
        12,
        "Dünkü yedekten geri yükleme talebi",
        "Sitemizdeki bazı ürünler yanlışlıkla silindi, dünkü yedeğe dönebilir miyiz?",
        [
            ("note", 11.5, "Dünkü 03:00 yedeği sağlam, geri yüklemeden önce onay alalım."),
            (
                PENDING,
                11,
                "Merhaba, dünkü 03:00 yedeği hazır. Geri yüklediğimizde "
                "sonrasındaki değişiklikler kaybolacak; onaylıyor musunuz?",
            ),
        ],
    ),
    Sample(
        "mehmet@example.com",
        F,
        EMAIL,
        160,
        "Yıllık plana geçiş hakkında",
        "Aylık plandan yıllık plana geçersem kalan günlerin ücreti ne olacak?",
        [
            (
                RESOLVED,
                155,
                "Mehmet Bey, kalan günler yıllık ücretten düşülüyor. Geçişi "
                "panelden yapabilirsiniz.",
            ),
            (CLOSE, 100, ""),
        ],
        urgency=Priority.LOW,
    ),
    # --- Persian -----------------------------------------------------------------------------
    Sample(
        "sara@example.com",
        T,
        WEB,
        1,
        "پیامک‌های ارسالی به دست مشترکین نمی‌رسد",
        "از صبح امروز پیامک‌های تبلیغاتی ما در وضعیت «ارسال‌شده» هستند اما هیچ مشترکی "
        "آن‌ها را دریافت نکرده است.",
    ),
    Sample(
        "reza@example.com",
        F,
        WEB,
        30,
        "افزایش اعتبار انجام شد اما موجودی تغییر نکرد",
        "دیروز ۵۰۰ هزار تومان اعتبار خریدم، مبلغ از حساب کم شد ولی موجودی پنل تغییری "
        "نکرده است. شماره پیگیری: ۷۷۱۲۰۴.",
        [(PENDING, 28, "رضا جان سلام، لطفاً تصویر رسید پرداخت را بفرستید تا با بانک پیگیری کنیم.")],
    ),
    Sample(
        "sara@example.com",
        T,
        EMAIL,
        8,
        "سامانه از دسترس خارج است",
        "پنل کاربری باز نمی‌شود و ارسال پیامک از طریق وب‌سرویس هم خطا می‌دهد.",
        [
            ("assign", 7.8, ""),
            (OPEN, 7, "سلام، مشکل در سرور اصلی شناسایی شد و همکاران ما در حال رفع آن هستند."),
            ("note", 6.5, "سرور پایگاه داده پس از به‌روزرسانی بالا نیامد."),
        ],
        urgency=Priority.HIGH,
    ),
    Sample(
        "reza@example.com",
        T,
        CHAT,
        55,
        "خط اختصاصی فعال نشده است",
        "سه روز پیش خط اختصاصی خریدم ولی هنوز در پنل غیرفعال است.",
        [(RESOLVED, 50, "سلام، خط اختصاصی شما فعال شد. لطفاً یک پیامک آزمایشی بفرستید.")],
    ),
    Sample(
        "sara@example.com",
        F,
        PHONE,
        130,
        "درخواست فاکتور رسمی",
        "مشتری تماس گرفت: برای خرید بسته‌ی اردیبهشت فاکتور رسمی با کد اقتصادی لازم دارد.",
        [
            (RESOLVED, 125, "سلام، فاکتور رسمی صادر و به ایمیل شما ارسال شد."),
            (CLOSE, 60, ""),
        ],
    ),
    Sample(
        "reza@example.com",
        T,
        TG,
        20,
        "ارسال گروهی پیامک با خطا متوقف می‌شود",
        "ارسال گروهی به ۲۰۰۰ شماره بعد از حدود ۳۰۰ پیامک متوقف می‌شود.",
        [
            (PENDING, 18, "سلام، لطفاً فایل شماره‌ها را بفرستید تا بررسی کنیم."),
            ("customer", 10, "فایل را پیوست کردم. شماره‌ها همه با ۰۹ شروع می‌شوند."),
        ],
    ),
    Sample(
        "sara@example.com",
        T,
        API,
        70,
        "خطای احراز هویت در وب‌سرویس ارسال پیامک",
        "از دیروز وب‌سرویس با کلید API ما پاسخ ۴۰۱ می‌دهد.",
        [
            (
                PENDING,
                63,
                "سلام، کلید API شما منقضی شده بود. کلید جدید را از پنل بسازید و "
                "نتیجه را اعلام کنید.",
            )
        ],
        key="fa-api",
    ),
    Sample(
        "sara@example.com",
        T,
        EMAIL,
        65,
        "وب‌سرویس همچنان خطای ۴۰۱ می‌دهد",
        "درخواست قبلی ما هنوز پاسخی نگرفته است و ارسال‌ها متوقف است.",
        [("merge", 64, "fa-api")],
    ),
]


def _customers(password: str) -> dict[str, User]:
    for email, name, language in CUSTOMERS:
        if not User.objects.filter(email=email).exists():
            user = User(email=email, full_name=name, role=Role.CUSTOMER, language=language)
            user.set_password(password)
            user.save()
    return {u.email: u for u in User.objects.all()}


def _moved(ticket_ids: list[int], start: datetime, when: datetime) -> None:
    """What the last step wrote (at `start` or later) happened at `when`."""
    Message.objects.filter(ticket_id__in=ticket_ids, created_at__gte=start).update(created_at=when)
    TicketEvent.objects.filter(ticket_id__in=ticket_ids, created_at__gte=start).update(
        created_at=when
    )
    for ticket in Ticket.objects.filter(pk__in=ticket_ids):
        changed = {
            name: when
            for name in TIMES
            if getattr(ticket, name) is not None and getattr(ticket, name) >= start
        }
        if changed:
            Ticket.objects.filter(pk=ticket.pk).update(**changed)


def _step(
    ticket: Ticket, step: Step, agent: User, keyed: dict[str, Ticket], now: datetime
) -> list[int]:
    kind, _hours, text = step
    who = Actor.of(agent)
    if kind.startswith("reply:"):
        actions.add_message(
            ticket, author=agent, body=text, status_after=kind.split(":")[1], channel=Channel.WEB
        )
    elif kind == "note":
        actions.add_message(ticket, author=agent, body=text, internal=True, channel=Channel.WEB)
    elif kind == "customer":
        actions.add_message(ticket, author=ticket.customer, body=text, channel=ticket.channel)
    elif kind == "priority":
        actions.change_priority(ticket, actor=who, priority=text)
    elif kind == "assign":
        actions.assign(ticket, actor=who, assignee=agent)
    elif kind.startswith("close:"):
        actions.change_status(
            ticket, actor=who, status=TicketStatus.CLOSED, close_reason=kind.split(":")[1]
        )
    elif kind == "merge":
        actions.merge(ticket, into=keyed[text], actor=who)
        return [ticket.pk, keyed[text].pk]
    return [ticket.pk]


def load_sample_tickets(password: str) -> int:
    """Make the samples that do not exist yet (their customers sign in with `password`);
    returns how many were made."""
    users = _customers(password)
    departments = {d.slug: d for d in Department.objects.all()}
    keyed: dict[str, Ticket] = {}
    made: list[Ticket] = []
    with outbox_paused():
        for sample in SAMPLES:
            customer = users[sample.customer]
            existing = Ticket.objects.filter(customer=customer, subject=sample.subject).first()
            if existing is not None:
                if sample.key:
                    keyed[sample.key] = existing
                continue
            agent = users[AGENTS[sample.department]]
            now = timezone.now()
            start = now
            ticket = actions.create_ticket(
                customer=customer,
                subject=sample.subject,
                body=sample.body,
                channel=sample.channel,
                department=departments[sample.department],
                urgency=sample.urgency,
                language=customer.language,
                filed_by=agent if sample.channel == Channel.PHONE else None,
            )
            _moved([ticket.pk], start, now - timedelta(hours=sample.hours_ago))
            for step in sample.steps:
                start = timezone.now()
                touched = _step(ticket, step, agent, keyed, now)
                _moved(touched, start, now - timedelta(hours=step[1]))
            if sample.key:
                keyed[sample.key] = ticket
            made.append(ticket)
        for ticket in made:
            # The clocks again, from the history as it now reads (the first response due
            # too, which a save keeps once an answer came).
            Ticket.objects.filter(pk=ticket.pk).update(first_response_due=None)
            actions.recompute_clocks(ticket)
        if made:
            sla_sweep_now()  # warnings and breaches of the past, as the worker would log them
    return len(made)
