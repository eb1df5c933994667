"""`destek seed --tickets N`: fill the database with realistic tickets, fast, for benchmarks.

Rows are written with `bulk_create` in batches, one transaction per batch, and generated per
batch so memory stays flat whatever N is. Seeded tickets bypass the actions on purpose: no
intake rules, routing, notifications or jobs, only the rows a busy helpdesk would hold
(a ticket, its thread and its `created` event). Seeded customers are
`seed-customer-NNNNNN@example.test`; `--clear` removes their tickets.
"""

from __future__ import annotations

import random
import time
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from destek.accounts.choices import Role, Tier
from destek.accounts.models import User
from destek.demo.data import load_demo
from destek.sla.engine import add_business_minutes
from destek.tickets.choices import (
    ActorKind,
    AuthorKind,
    Channel,
    CloseReason,
    EventKind,
    Priority,
    TicketStatus,
    priority_rank,
)
from destek.tickets.clocks import Schedules
from destek.tickets.models import (
    FAR_FUTURE,
    Department,
    Membership,
    Message,
    Policy,
    Ticket,
    TicketEvent,
)

SEED_EMAIL_PREFIX = "seed-customer-"
SEED_EMAIL_DOMAIN = "example.test"
SPAN = timedelta(days=180)
TICKET_NUMBERS = range(10_000_000, 100_000_000)
CUSTOMER_NUMBERS = range(1_000_000, 10_000_000)

# --- what customers write, per language ------------------------------------------------------
# {n} is an order, invoice or contract number, {d} a domain, {m} a month.


@dataclass(frozen=True)
class Texts:
    names: tuple[str, ...]
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    replies: tuple[str, ...]
    follow_ups: tuple[str, ...]


TEXTS: dict[str, Texts] = {
    "az": Texts(
        names=(
            "Elvin Məmmədov",
            "Günay Əliyeva",
            "Rəşad Hüseynov",
            "Leyla Quliyeva",
            "Orxan İsmayılov",
            "Nərmin Həsənova",
            "Tural Abbasov",
            "Səbinə Rzayeva",
        ),
        subjects=(
            "{d} saytı açılmır",
            "{n} nömrəli sifariş üçün ödəniş keçmədi",
            "Hesab-faktura {n} səhvdir",
            "Poçt qutusuna giriş alınmır ({d})",
            "{m} ayı üçün hesabdan iki dəfə pul çıxılıb",
            "SSL sertifikatı {d} üçün yenilənmədi",
            "Müqavilə {n} üzrə tarifi dəyişmək istəyirəm",
            "DNS qeydləri {d} üçün işləmir",
        ),
        bodies=(
            "Salam. Bu gün səhərdən {d} saytı açılmır, brauzer 502 xətası göstərir. "
            "Zəhmət olmasa yoxlayın.",
            "Kartdan pul çıxılıb, amma {n} nömrəli sifariş hələ də ödənilməmiş görünür. "
            "Qəbzi əlavə edə bilərəm.",
            "Hesab-faktura {n} üzərində şirkətin adı və VÖEN səhv yazılıb. "
            "Düzəliş edib yenidən göndərin.",
            "Dünən parolu dəyişdim, indi poçt proqramı parolu qəbul etmir. Hesab {d} domenindədir.",
        ),
        replies=(
            "Salam! Müraciətinizə baxırıq, qısa müddətdə cavab verəcəyik.",
            "Problemi yoxladıq: server tərəfdə düzəliş etdik, zəhmət olmasa yenidən yoxlayın.",
            "Ödənişi bankla dəqiqləşdirdik, sifarişiniz artıq ödənilmiş kimi görünür.",
            "Yeni hesab-faktura hazırdır, şəxsi kabinetdə yükləyə bilərsiniz.",
        ),
        follow_ups=(
            "Təşəkkür edirəm, indi hər şey qaydasındadır.",
            "Hələ də eyni xəta çıxır, ekran şəklini əlavə edirəm.",
            "Bəs bu nə qədər vaxt aparacaq?",
        ),
    ),
    "en": Texts(
        names=(
            "James Carter",
            "Emily Stone",
            "Daniel Brooks",
            "Sophie Turner",
            "Michael Reed",
            "Hannah Price",
            "Oliver Grant",
            "Grace Palmer",
        ),
        subjects=(
            "{d} returns error 502 since this morning",
            "Payment for order {n} failed but card was charged",
            "Invoice {n} has the wrong company name",
            "Cannot log in to webmail on {d}",
            "Charged twice for {m}",
            "SSL certificate for {d} expired",
            "Upgrade contract {n} to the business plan",
            "DNS changes for {d} not propagating",
        ),
        bodies=(
            "Since about 9 am {d} answers with a 502 Bad Gateway. Nothing changed on our "
            "side. Could you check the server?",
            "My card was charged for order {n}, yet the order still shows as unpaid. "
            "I can send the bank statement.",
            "Invoice {n} shows our old company name and tax id. Please reissue it with "
            "the details from our profile.",
            "After changing my password yesterday the mail client keeps asking for it again. "
            "The account is on {d}.",
        ),
        replies=(
            "Thank you for reporting this, we are looking into it now.",
            "We found the cause on the server and fixed it. Could you check again?",
            "The payment is confirmed by the bank and the order is now marked as paid.",
            "A corrected invoice is available in your account under Billing.",
        ),
        follow_ups=(
            "Thanks, it works now.",
            "Still the same error, screenshot attached.",
            "Is there an estimate for when this will be done?",
        ),
    ),
    "fa": Texts(
        names=(
            "علی رضایی",
            "مریم احمدی",
            "حسین کریمی",
            "زهرا موسوی",
            "محمد حسینی",
            "فاطمه صادقی",
            "رضا نوری",
            "سارا جعفری",
        ),
        subjects=(
            "سایت {d} از صبح باز نمی‌شود",
            "پرداخت سفارش {n} انجام نشد ولی مبلغ کسر شد",
            "فاکتور {n} نام شرکت را اشتباه دارد",
            "ورود به ایمیل {d} ممکن نیست",
            "برای ماه {m} دو بار از حساب برداشت شده",
            "گواهی SSL دامنه {d} منقضی شده",
            "تغییر تعرفه قرارداد {n}",
            "رکوردهای DNS دامنه {d} اعمال نمی‌شود",
        ),
        bodies=(
            "از ساعت ۹ صبح سایت {d} خطای ۵۰۲ می‌دهد. لطفا سرور را بررسی کنید.",
            "مبلغ سفارش {n} از کارت کسر شده اما سفارش هنوز پرداخت‌نشده نمایش داده می‌شود.",
            "در فاکتور {n} نام شرکت و شناسه ملی اشتباه درج شده است. لطفا اصلاح کنید.",
            "دیروز رمز عبور را عوض کردم و حالا برنامه ایمیل رمز را قبول نمی‌کند. "
            "حساب روی دامنه {d} است.",
        ),
        replies=(
            "با سلام، درخواست شما در حال بررسی است.",
            "مشکل در سمت سرور برطرف شد، لطفا دوباره بررسی بفرمایید.",
            "پرداخت شما توسط بانک تایید شد و سفارش پرداخت‌شده است.",
            "فاکتور اصلاح‌شده در پنل کاربری شما قرار گرفت.",
        ),
        follow_ups=(
            "ممنون، الان درست شد.",
            "هنوز همان خطا را می‌بینم، تصویر را پیوست کردم.",
            "حدودا چقدر زمان می‌برد؟",
        ),
    ),
    "ru": Texts(
        names=(
            "Иван Петров",
            "Ольга Смирнова",
            "Дмитрий Козлов",
            "Анна Волкова",
            "Сергей Новиков",
            "Мария Соколова",
            "Алексей Морозов",
            "Елена Лебедева",
        ),
        subjects=(
            "Сайт {d} не открывается с утра",
            "Оплата заказа {n} не прошла, деньги списаны",
            "В счёте {n} неверное название компании",
            "Не могу войти в почту на {d}",
            "Двойное списание за {m}",
            "Истёк SSL-сертификат для {d}",
            "Смена тарифа по договору {n}",
            "Не применяются DNS-записи для {d}",
        ),
        bodies=(
            "С девяти утра сайт {d} отдаёт ошибку 502. У нас ничего не менялось, "
            "проверьте, пожалуйста, сервер.",
            "Деньги за заказ {n} списались с карты, но заказ всё ещё числится неоплаченным. "
            "Могу прислать выписку.",
            "В счёте {n} указано старое название компании и ИНН. Перевыставьте, пожалуйста.",
            "Вчера сменил пароль, теперь почтовый клиент его не принимает. Ящик на {d}.",
        ),
        replies=(
            "Здравствуйте! Заявка принята, разбираемся.",
            "Нашли причину на сервере и исправили. Проверьте, пожалуйста, ещё раз.",
            "Банк подтвердил платёж, заказ отмечен как оплаченный.",
            "Исправленный счёт доступен в личном кабинете в разделе «Счета».",
        ),
        follow_ups=(
            "Спасибо, теперь всё работает.",
            "Ошибка осталась, прикладываю скриншот.",
            "Подскажите, сколько это займёт времени?",
        ),
    ),
    "tr": Texts(
        names=(
            "Mehmet Yılmaz",
            "Ayşe Kaya",
            "Mustafa Demir",
            "Zeynep Çelik",
            "Ahmet Şahin",
            "Elif Yıldız",
            "Emre Aydın",
            "Fatma Öztürk",
        ),
        subjects=(
            "{d} sitesi sabahtan beri açılmıyor",
            "{n} numaralı siparişin ödemesi geçmedi",
            "{n} numaralı faturada firma adı yanlış",
            "{d} e-posta hesabına giriş yapamıyorum",
            "{m} ayı için iki kez ücret alındı",
            "{d} için SSL sertifikası yenilenmedi",
            "{n} numaralı sözleşmede paket değişikliği",
            "{d} DNS kayıtları güncellenmiyor",
        ),
        bodies=(
            "Sabah dokuzdan beri {d} 502 hatası veriyor. Bizim tarafta bir değişiklik "
            "yapılmadı, sunucuyu kontrol eder misiniz?",
            "{n} numaralı sipariş için kartımdan ödeme çekildi ama sipariş hâlâ ödenmemiş "
            "görünüyor. Dekontu gönderebilirim.",
            "{n} numaralı faturada eski firma adımız ve vergi numaramız yazıyor. "
            "Düzeltip yeniden gönderir misiniz?",
            "Dün şifremi değiştirdim, e-posta programı yeni şifreyi kabul etmiyor. "
            "Hesap {d} alan adında.",
        ),
        replies=(
            "Merhaba, talebiniz inceleniyor.",
            "Sunucu tarafındaki sorunu giderdik, tekrar kontrol eder misiniz?",
            "Ödemeniz banka tarafından onaylandı, sipariş ödendi olarak işaretlendi.",
            "Düzeltilmiş fatura müşteri panelinizde yer alıyor.",
        ),
        follow_ups=(
            "Teşekkürler, şimdi çalışıyor.",
            "Aynı hata devam ediyor, ekran görüntüsü ekledim.",
            "Ne kadar sürer acaba?",
        ),
    ),
}
LANGUAGES = list(TEXTS)
LANGUAGE_WEIGHTS = [35, 20, 10, 20, 15]  # az, en, fa, ru, tr
MONTHS = ("01.2025", "02.2025", "03.2025", "04.2025", "05.2025", "06.2025")
DOMAIN_WORDS = (
    "bakutrade",
    "kaspi",
    "novaline",
    "sarhad",
    "mavi",
    "yildiz",
    "parsnet",
    "gulshan",
    "avrora",
    "ipek",
)

STATUSES = list(TicketStatus.values)
# By age: recent tickets are still being worked, old ones are mostly closed.
STATUS_WEIGHTS_RECENT = [30, 30, 20, 15, 5]  # new, open, pending, resolved, closed
STATUS_WEIGHTS_MONTH = [3, 12, 10, 20, 55]
STATUS_WEIGHTS_OLD = [0, 2, 3, 5, 90]
PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL]
PRIORITY_WEIGHTS = [20, 55, 20, 5]
CHANNELS = [Channel.WEB, Channel.EMAIL, Channel.API, Channel.CHAT, Channel.TELEGRAM, Channel.PHONE]
CHANNEL_WEIGHTS = [40, 35, 10, 5, 5, 5]
CLOSE_REASONS = [
    CloseReason.RESOLVED,
    CloseReason.NO_REPLY,
    CloseReason.CUSTOMER,
    CloseReason.DUPLICATE,
]
CLOSE_REASON_WEIGHTS = [70, 20, 8, 2]
TIERS = [Tier.STANDARD, Tier.PREMIUM, Tier.VIP]
TIER_WEIGHTS = [85, 10, 5]


def seed_email(index: int) -> str:
    return f"{SEED_EMAIL_PREFIX}{index:06d}@{SEED_EMAIL_DOMAIN}"


def draw_unique(rng: random.Random, population: range, count: int, taken: set[int]) -> array[int]:
    """`count` distinct numbers from `population` that are not in `taken`, in random order."""
    if count + len(taken) > len(population):
        raise CommandError(f"Not enough free numbers in {population} for {count} more.")
    drawn = rng.sample(population, count + len(taken))
    return array("q", [n for n in drawn if n not in taken][:count])


class Command(BaseCommand):
    help = (
        "Fill the database with realistic tickets for benchmarks: demo data, seeded customers "
        "and N tickets with their messages and events, written in bulk."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=0, help="tickets to add (default 0)")
        parser.add_argument("--messages", type=int, default=3, help="messages per ticket")
        parser.add_argument(
            "--customers", type=int, default=1000, help="seeded customers the tickets belong to"
        )
        parser.add_argument("--batch", type=int, default=5000, help="tickets per transaction")
        parser.add_argument(
            "--clear", action="store_true", help="first delete the tickets of seeded customers"
        )
        parser.add_argument(
            "--random-seed", type=int, default=None, help="make the generated data repeatable"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tickets: int = options["tickets"]
        messages: int = options["messages"]
        customers: int = options["customers"]
        batch: int = options["batch"]
        if tickets < 0 or messages < 1 or customers < 1 or batch < 1:
            raise CommandError("--tickets must be >= 0; --messages, --customers and --batch >= 1.")
        self.rng = random.Random(options["random_seed"])
        self.verbose = options["verbosity"] >= 1
        started = time.monotonic()
        if options["clear"]:
            self.clear(batch)
        load_demo()
        if not tickets:
            return
        customer_ids = self.ensure_customers(customers)
        self.fill(tickets, messages=messages, customer_ids=customer_ids, batch=batch)
        elapsed = time.monotonic() - started
        rows = tickets * (messages + 2)
        self.say(
            f"Seeded {tickets:,} tickets, {tickets * messages:,} messages and {tickets:,} "
            f"events in {elapsed:.1f} s: {tickets / elapsed:,.0f} tickets/s, "
            f"{rows / elapsed:,.0f} rows/s."
        )

    def say(self, line: str) -> None:
        if self.verbose:
            self.stdout.write(line)
            self.stdout.flush()

    # --- clearing ----------------------------------------------------------------------------

    def clear(self, batch: int) -> None:
        """Delete seeded customers' tickets in chunks, children first.

        A single `.delete()` would make Django's collector load every ticket and message
        into memory; per chunk, events go with one DELETE and messages are loaded as ids only.
        """
        seeded = Ticket.objects.filter(customer__email__startswith=SEED_EMAIL_PREFIX)
        deleted = 0
        started = time.monotonic()
        while True:
            with transaction.atomic():
                ids = list(seeded.order_by("pk").values_list("pk", flat=True)[:batch])
                if not ids:
                    break
                TicketEvent.objects.filter(ticket_id__in=ids).delete()
                Message.objects.filter(ticket_id__in=ids).only("pk").delete()
                Ticket.objects.filter(pk__in=ids).only("pk").delete()
            deleted += len(ids)
            self.say(f"  cleared {deleted:,} tickets")
        self.say(f"Cleared {deleted:,} seeded tickets in {time.monotonic() - started:.1f} s.")

    # --- customers ---------------------------------------------------------------------------

    def ensure_customers(self, count: int) -> list[int]:
        """The ids of seed customers 0..count-1, creating the missing ones in bulk."""
        wanted = {seed_email(i): i for i in range(count)}
        existing = set(
            User.objects.filter(email__startswith=SEED_EMAIL_PREFIX).values_list("email", flat=True)
        )
        missing = [email for email in wanted if email not in existing]
        if missing:
            taken = {
                int(n)
                for n in User.objects.filter(customer_number__isnull=False)
                .values_list("customer_number", flat=True)
                .iterator()
                if n and n.isdigit()
            }
            numbers = draw_unique(self.rng, CUSTOMER_NUMBERS, len(missing), taken)
            # Seeded customers never sign in: one unusable password ("!...") serves them all.
            unusable = make_password(None)
            users = []
            for email, number in zip(missing, numbers, strict=True):
                language = self.rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
                users.append(
                    User(
                        email=email,
                        full_name=self.rng.choice(TEXTS[language].names),
                        role=Role.CUSTOMER,
                        tier=self.rng.choices(TIERS, TIER_WEIGHTS)[0],
                        language=language,
                        customer_number=str(number),
                        password=unusable,
                    )
                )
            with transaction.atomic():
                User.objects.bulk_create(users, batch_size=1000)
            self.say(f"Created {len(users):,} seeded customers.")
        ids = dict(
            User.objects.filter(email__startswith=SEED_EMAIL_PREFIX).values_list("email", "pk")
        )
        return [ids[email] for email in wanted]

    # --- tickets -----------------------------------------------------------------------------

    def fill(self, total: int, *, messages: int, customer_ids: list[int], batch: int) -> None:
        # Seeded tickets run on the default (last, condition-free) policy: their clocks come
        # from the same engine as real ones, without replaying each ticket's history.
        self.policy = Policy.objects.filter(enabled=True).order_by("-position", "-pk").first()
        self.schedule = Schedules().get(self.policy.calendar_id) if self.policy else None
        self.vip_ids = set(User.objects.filter(tier=Tier.VIP).values_list("pk", flat=True))
        departments = list(Department.objects.order_by("position", "pk"))
        if not departments:
            raise CommandError("No departments: load_demo() should have created them.")
        # Technical carries most of the traffic, as at a hosting company.
        weights = [2 if d.slug == "technical" else 1 for d in departments]
        admins = list(User.objects.filter(role=Role.ADMIN).values_list("pk", flat=True))
        agents: dict[int, list[int]] = {d.pk: [] for d in departments}
        for department_id, user_id in Membership.objects.filter(
            user__is_active=True, user__role__in=[Role.AGENT, Role.ADMIN]
        ).values_list("department_id", "user_id"):
            agents[department_id].append(user_id)
        for members in agents.values():
            members.extend([] if members else admins)

        taken = set(Ticket.objects.values_list("number", flat=True).iterator())
        numbers = draw_unique(self.rng, TICKET_NUMBERS, total, taken)
        del taken

        now = timezone.now()
        start = now - SPAN
        step = SPAN / total
        started = time.monotonic()
        done = 0
        while done < total:
            size = min(batch, total - done)
            tickets: list[Ticket] = []
            threads: list[list[Message]] = []
            for i in range(done, done + size):
                # Ids grow with creation time, as in a real queue; jitter within the step.
                created = start + step * (i + self.rng.random())
                department = self.rng.choices(departments, weights)[0]
                ticket, thread = self.make_ticket(
                    number=numbers[i],
                    created=created,
                    now=now,
                    department=department,
                    agent_ids=agents[department.pk],
                    customer_id=self.rng.choice(customer_ids),
                    messages=messages,
                )
                tickets.append(ticket)
                threads.append(thread)
            with transaction.atomic():
                # Both backends return the new ids from a bulk insert (SQLite >= 3.35).
                Ticket.objects.bulk_create(tickets, batch_size=1000)
                rows: list[Message] = []
                events: list[TicketEvent] = []
                for ticket, thread in zip(tickets, threads, strict=True):
                    for message in thread:
                        message.ticket = ticket
                        rows.append(message)
                    events.append(
                        TicketEvent(
                            ticket=ticket,
                            kind=EventKind.CREATED,
                            actor_kind=ActorKind.CUSTOMER,
                            actor_id=ticket.customer_id,
                            to_value=TicketStatus.NEW,
                            data={"channel": ticket.channel, "related_to": None},
                            created_at=ticket.created_at,
                        )
                    )
                Message.objects.bulk_create(rows, batch_size=2000)
                TicketEvent.objects.bulk_create(events, batch_size=2000)
            done += size
            rate = done / max(time.monotonic() - started, 1e-6)
            self.say(f"  {done:,} / {total:,} tickets ({rate:,.0f} tickets/s)")

    def make_ticket(
        self,
        *,
        number: int,
        created: datetime,
        now: datetime,
        department: Department,
        agent_ids: list[int],
        customer_id: int,
        messages: int,
    ) -> tuple[Ticket, list[Message]]:
        rng = self.rng
        language = rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]
        texts = TEXTS[language]
        values = {
            "n": rng.randint(10_000, 999_999),
            "d": f"{rng.choice(DOMAIN_WORDS)}{rng.randint(1, 999)}.az",
            "m": rng.choice(MONTHS),
        }
        age = now - created
        if age < timedelta(days=7):
            status_weights = STATUS_WEIGHTS_RECENT
        elif age < timedelta(days=30):
            status_weights = STATUS_WEIGHTS_MONTH
        else:
            status_weights = STATUS_WEIGHTS_OLD
        status = rng.choices(STATUSES, status_weights)[0]
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        agent_id = rng.choice(agent_ids) if agent_ids else None

        # The thread: the customer first, then agent and customer in turn, hours apart. Nobody
        # has answered a new ticket yet, so there the customer keeps writing ("any news?").
        thread: list[Message] = []
        when = created
        last_customer = last_agent = first_agent = None
        for position in range(messages):
            from_customer = status == TicketStatus.NEW or position % 2 == 0
            if from_customer:
                body = (
                    rng.choice(texts.bodies) if position == 0 else rng.choice(texts.follow_ups)
                ).format(**values)
                last_customer = when
            else:
                body = rng.choice(texts.replies)
                last_agent = when
                first_agent = first_agent or when
            thread.append(
                Message(
                    author_id=customer_id if from_customer else agent_id,
                    author_kind=AuthorKind.CUSTOMER if from_customer else AuthorKind.AGENT,
                    body=body,
                    channel=channel if from_customer else Channel.WEB,
                    created_at=when,
                )
            )
            when = min(now, when + timedelta(minutes=rng.randint(5, 36 * 60)))
        last_message = thread[-1].created_at

        ticket = Ticket(
            number=number,
            subject=rng.choice(texts.subjects).format(**values),
            department=department,
            priority=rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
            urgency=Priority.HIGH if rng.random() < 0.1 else Priority.NORMAL,
            status=status,
            channel=channel,
            customer_id=customer_id,
            assignee_id=agent_id if status != TicketStatus.NEW else None,
            language=language,
            created_at=created,
            first_seen_at=(
                created + timedelta(minutes=rng.randint(1, 120))
                if status != TicketStatus.NEW or rng.random() < 0.3
                else None
            ),
            first_response_at=first_agent,
            last_customer_message_at=last_customer,
            last_agent_message_at=last_agent,
        )
        self.set_clocks(ticket)
        changed = min(now, last_message + timedelta(minutes=rng.randint(1, 600)))
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            ticket.resolved_at = changed
        if status == TicketStatus.CLOSED:
            ticket.closed_at = changed
            ticket.close_reason = rng.choices(CLOSE_REASONS, CLOSE_REASON_WEIGHTS)[0]
        ticket.status_changed_at = changed if status != TicketStatus.NEW else created
        ticket.updated_at = max(ticket.status_changed_at, last_message)
        return ticket, thread

    def set_clocks(self, ticket: Ticket) -> None:
        ticket.priority_rank = priority_rank(ticket.priority)
        ticket.policy_priority = ticket.priority
        ticket.customer_vip = ticket.customer_id in self.vip_ids
        policy, schedule = self.policy, self.schedule
        if policy is None or schedule is None:
            return
        ticket.sla_policy = policy
        created = ticket.created_at
        if policy.first_response_minutes:
            ticket.first_response_due = add_business_minutes(
                schedule, created, policy.first_response_minutes
            )
        if policy.resolution_minutes:
            ticket.resolution_due = add_business_minutes(
                schedule, created, policy.resolution_minutes
            )
        candidates = []
        if ticket.first_response_at is None:
            candidates.append(ticket.first_response_due)
        if ticket.status in (TicketStatus.NEW, TicketStatus.OPEN):
            candidates.append(ticket.resolution_due)
        running: list[datetime] = [due for due in candidates if due is not None]
        ticket.queue_due = min(running) if running else FAR_FUTURE
        # The sweep then finds what is past due (warnings come with the breach).
        ticket.sla_check_at = min(running) if running else None
