"""The demo's macros: three that only reply (once the demo's canned replies) and three that
do more, each with its reply in all five languages."""

from __future__ import annotations

from typing import Any

from destek.automation.choices import AssigneeChoice
from destek.automation.models import Macro, MacroText
from destek.tickets.choices import Priority, TicketStatus
from destek.tickets.models import Department

#: language, title, body, department slug or None (every department), status after, priority:
#: three replies in each language, in the same order in each.
CANNED_REPLIES = [
    (
        "en",
        "Greeting: we are on it",
        "Hello {customer_name},\n\nthank you for writing to us. We are looking into ticket "
        "{ticket_number} and will write again as soon as we know more.\n\n{agent_name}",
        None,
        TicketStatus.OPEN,
        "",
    ),
    (
        "en",
        "Need more details",
        "Hello {customer_name},\n\nto find the cause we need a few more details: the steps "
        "that lead to the error, a screenshot or a short screen recording, and the time it "
        "happened.\n\n{agent_name}",
        "technical",
        TicketStatus.PENDING,
        "",
    ),
    (
        "en",
        "Outage acknowledged",
        "Hello {customer_name},\n\nwe know about the outage and our engineers are working "
        "on it with the highest priority. We will update ticket {ticket_number} as soon as "
        "the service is back.\n\n{agent_name}",
        "technical",
        TicketStatus.OPEN,
        Priority.CRITICAL,
    ),
    (
        "az",
        "Salamlama: məşğul oluruq",
        "Salam, {customer_name}!\n\nBizə yazdığınız üçün təşəkkür edirik. {ticket_number} "
        "nömrəli müraciətinizi araşdırırıq və yenilik olan kimi sizə yazacağıq.\n\n"
        "{agent_name}",
        None,
        TicketStatus.OPEN,
        "",
    ),
    (
        "az",
        "Əlavə məlumat lazımdır",
        "Salam, {customer_name}!\n\nSəbəbi tapmaq üçün bir neçə əlavə məlumat lazımdır: "
        "xətaya aparan addımlar, ekran görüntüsü və ya qısa ekran yazısı, bir də bunun baş "
        "verdiyi vaxt.\n\n{agent_name}",
        "technical",
        TicketStatus.PENDING,
        "",
    ),
    (
        "az",
        "Nasazlıqdan xəbərimiz var",
        "Salam, {customer_name}!\n\nNasazlıqdan xəbərimiz var, mütəxəssislərimiz onu ən "
        "yüksək prioritetlə aradan qaldırır. Xidmət bərpa olunan kimi {ticket_number} "
        "nömrəli müraciətdə xəbər verəcəyik.\n\n{agent_name}",
        "technical",
        TicketStatus.OPEN,
        Priority.CRITICAL,
    ),
    (
        "fa",
        "خوشامد: در حال بررسی هستیم",
        "{customer_name} گرامی، سلام\n\nاز پیام شما سپاسگزاریم. درخواست {ticket_number} "
        "در حال بررسی است و به محض اطلاع بیشتر به شما خبر می‌دهیم.\n\n{agent_name}",
        None,
        TicketStatus.OPEN,
        "",
    ),
    (
        "fa",
        "به اطلاعات بیشتری نیاز داریم",
        "{customer_name} گرامی، سلام\n\nبرای یافتن علت به چند نکته‌ی دیگر نیاز داریم: "
        "مراحلی که به خطا می‌رسد، تصویر صفحه یا یک فیلم کوتاه از صفحه، و زمان بروز "
        "مشکل.\n\n{agent_name}",
        "technical",
        TicketStatus.PENDING,
        "",
    ),
    (
        "fa",
        "از قطعی مطلع هستیم",
        "{customer_name} گرامی، سلام\n\nاز قطعی سرویس مطلع هستیم و کارشناسان ما با بالاترین "
        "اولویت در حال رفع آن هستند. به محض برقراری سرویس، در درخواست {ticket_number} "
        "اطلاع می‌دهیم.\n\n{agent_name}",
        "technical",
        TicketStatus.OPEN,
        Priority.CRITICAL,
    ),
    (
        "ru",
        "Приветствие: уже занимаемся",
        "Здравствуйте, {customer_name}!\n\nСпасибо, что написали нам. Мы разбираемся с "
        "заявкой {ticket_number} и напишем, как только узнаем больше.\n\n{agent_name}",
        None,
        TicketStatus.OPEN,
        "",
    ),
    (
        "ru",
        "Нужны подробности",
        "Здравствуйте, {customer_name}!\n\nЧтобы найти причину, нам нужно ещё немного "
        "сведений: шаги, которые приводят к ошибке, снимок экрана или короткая запись "
        "экрана и время, когда это произошло.\n\n{agent_name}",
        "technical",
        TicketStatus.PENDING,
        "",
    ),
    (
        "ru",
        "Сбой уже устраняем",
        "Здравствуйте, {customer_name}!\n\nМы знаем о сбое, инженеры устраняют его в "
        "первую очередь. Сообщим в заявке {ticket_number}, как только сервис "
        "восстановится.\n\n{agent_name}",
        "technical",
        TicketStatus.OPEN,
        Priority.CRITICAL,
    ),
    (
        "tr",
        "Karşılama: ilgileniyoruz",
        "Merhaba {customer_name},\n\nbize yazdığınız için teşekkür ederiz. {ticket_number} "
        "numaralı talebinizi inceliyoruz, yeni bir bilgi olur olmaz size yazacağız.\n\n"
        "{agent_name}",
        None,
        TicketStatus.OPEN,
        "",
    ),
    (
        "tr",
        "Daha fazla ayrıntı gerekiyor",
        "Merhaba {customer_name},\n\nnedenini bulmak için birkaç ayrıntıya daha ihtiyacımız "
        "var: hataya götüren adımlar, bir ekran görüntüsü ya da kısa bir ekran kaydı ve "
        "sorunun yaşandığı saat.\n\n{agent_name}",
        "technical",
        TicketStatus.PENDING,
        "",
    ),
    (
        "tr",
        "Kesintiden haberdarız",
        "Merhaba {customer_name},\n\nkesintiden haberdarız, mühendislerimiz en yüksek "
        "öncelikle çalışıyor. Hizmet geri geldiğinde {ticket_number} numaralı talepte "
        "bilgi vereceğiz.\n\n{agent_name}",
        "technical",
        TicketStatus.OPEN,
        Priority.CRITICAL,
    ),
]

#: The macros that do more than reply: name, fields, and (title, reply) in each language.
MACROS: list[dict[str, Any]] = [
    {
        "name": "Ask for a screenshot",
        "department": "technical",
        "status": TicketStatus.PENDING,
        "add_tags": "screenshot-asked",
        "texts": {
            "en": (
                "Ask for a screenshot",
                "Hello {customer_name},\n\ncould you send us a screenshot of the screen where "
                "the problem appears? You can attach it to your reply to ticket "
                "{ticket_number}.\n\n{agent_name}",
            ),
            "az": (
                "Ekran görüntüsü istə",
                "Salam, {customer_name}!\n\nProblemin göründüyü ekranın görüntüsünü bizə "
                "göndərə bilərsinizmi? Onu {ticket_number} nömrəli müraciətə cavabınıza əlavə "
                "edə bilərsiniz.\n\n{agent_name}",
            ),
            "fa": (
                "درخواست تصویر صفحه",
                "{customer_name} گرامی، سلام\n\nلطفاً از صفحه‌ای که مشکل در آن دیده می‌شود یک "
                "تصویر برای ما بفرستید. می‌توانید آن را به پاسخ خود در درخواست "
                "{ticket_number} پیوست کنید.\n\n{agent_name}",
            ),
            "ru": (
                "Попросить снимок экрана",
                "Здравствуйте, {customer_name}!\n\nПришлите, пожалуйста, снимок экрана, на "
                "котором видна проблема. Его можно приложить к ответу в заявке "
                "{ticket_number}.\n\n{agent_name}",
            ),
            "tr": (
                "Ekran görüntüsü iste",
                "Merhaba {customer_name},\n\nsorunun göründüğü ekranın bir görüntüsünü bize "
                "gönderebilir misiniz? {ticket_number} numaralı talebe vereceğiniz yanıta "
                "ekleyebilirsiniz.\n\n{agent_name}",
            ),
        },
    },
    {
        "name": "Refund approved → resolved",
        "department": "finance",
        "status": TicketStatus.RESOLVED,
        "add_tags": "refund-approved",
        "note": "Refund approved by {agent_name}.",
        "texts": {
            "en": (
                "Refund approved → resolved",
                "Hello {customer_name},\n\ngood news: your refund is approved. The money goes "
                "back to the card or account you paid with within five working days.\n\nIf "
                "anything is still unclear, simply reply to ticket {ticket_number}.\n\n"
                "{agent_name}",
            ),
            "az": (
                "Geri ödəniş təsdiqləndi → həll edildi",
                "Salam, {customer_name}!\n\nXoş xəbər: geri ödənişiniz təsdiqləndi. Məbləğ beş "
                "iş günü ərzində ödəniş etdiyiniz karta və ya hesaba qaytarılacaq.\n\nSualınız "
                "qalarsa, {ticket_number} nömrəli müraciətə cavab yazın.\n\n{agent_name}",
            ),
            "fa": (
                "تأیید بازپرداخت و حل درخواست",
                "{customer_name} گرامی، سلام\n\nخبر خوب: بازپرداخت شما تأیید شد. مبلغ ظرف پنج "
                "روز کاری به کارت یا حسابی که با آن پرداخت کرده بودید بازمی‌گردد.\n\nاگر "
                "پرسشی باقی مانده است، کافی است به درخواست {ticket_number} پاسخ دهید.\n\n"
                "{agent_name}",
            ),
            "ru": (
                "Возврат одобрен → решено",
                "Здравствуйте, {customer_name}!\n\nХорошая новость: возврат одобрен. Деньги "
                "вернутся на карту или счёт, с которых вы платили, в течение пяти рабочих "
                "дней.\n\nЕсли что-то осталось неясным, просто ответьте в заявке "
                "{ticket_number}.\n\n{agent_name}",
            ),
            "tr": (
                "İade onaylandı → çözüldü",
                "Merhaba {customer_name},\n\niyi haber: iadeniz onaylandı. Tutar beş iş günü "
                "içinde ödeme yaptığınız karta veya hesaba geri yatırılacak.\n\nAklınıza "
                "takılan bir şey olursa {ticket_number} numaralı talebe yanıt vermeniz "
                "yeterli.\n\n{agent_name}",
            ),
        },
    },
    {
        "name": "Escalate to Finance",
        "department": "technical",
        "status": TicketStatus.OPEN,
        "priority": Priority.HIGH,
        "set_department": "finance",
        "assignee_choice": AssigneeChoice.NOBODY,
        "add_tags": "escalated",
        "note": "Escalated from {department} by {agent_name}: please check the payment.",
        "texts": {
            "en": (
                "Escalate to Finance",
                "Hello {customer_name},\n\nyour question is about a payment, so we have passed "
                "ticket {ticket_number} to our Finance department. A colleague there will "
                "write to you shortly.\n\n{agent_name}",
            ),
            "az": (
                "Maliyyə şöbəsinə ötür",
                "Salam, {customer_name}!\n\nSualınız ödənişlə bağlı olduğu üçün "
                "{ticket_number} nömrəli müraciəti maliyyə şöbəmizə ötürdük. Oradakı "
                "həmkarımız tezliklə sizə yazacaq.\n\n{agent_name}",
            ),
            "fa": (
                "ارجاع به حسابداری",
                "{customer_name} گرامی، سلام\n\nپرسش شما درباره‌ی پرداخت است، بنابراین "
                "درخواست {ticket_number} را به واحد حسابداری ارجاع دادیم. همکاران ما در آن "
                "واحد به‌زودی به شما پاسخ می‌دهند.\n\n{agent_name}",
            ),
            "ru": (
                "Передать в бухгалтерию",
                "Здравствуйте, {customer_name}!\n\nВаш вопрос касается оплаты, поэтому мы "
                "передали заявку {ticket_number} в бухгалтерию. Коллега оттуда скоро вам "
                "напишет.\n\n{agent_name}",
            ),
            "tr": (
                "Muhasebeye aktar",
                "Merhaba {customer_name},\n\nsorunuz bir ödemeyle ilgili olduğu için "
                "{ticket_number} numaralı talebi muhasebe birimimize aktardık. Oradaki bir "
                "çalışma arkadaşımız kısa süre içinde size yazacak.\n\n{agent_name}",
            ),
        },
    },
]


def _reply_only_macros() -> list[dict[str, Any]]:
    """The canned replies as macros: the n-th reply of each language is one macro, named by
    its English title, with its text and title in every language."""
    english = [row for row in CANNED_REPLIES if row[0] == "en"]
    macros: list[dict[str, Any]] = []
    for index, (_, name, _body, department, status, priority) in enumerate(english):
        texts = {
            language: (title, body) for language, title, body, *_rest in CANNED_REPLIES[index::3]
        }
        macros.append(
            {
                "name": name,
                "department": department,
                "status": status,
                "priority": priority,
                "texts": texts,
            }
        )
    return macros


def load_macros(technical: Department, finance: Department) -> None:
    """Six shared macros, each with its reply in all five languages; by name, so loading
    twice adds none."""
    departments = {"technical": technical, "finance": finance}
    for position, spec in enumerate([*_reply_only_macros(), *MACROS]):
        macro, _ = Macro.objects.get_or_create(
            name=spec["name"],
            owner=None,
            defaults={
                "department": departments.get(spec.get("department") or ""),
                "position": position * 10,
                "status": spec.get("status", ""),
                "priority": spec.get("priority", ""),
                "set_department": departments.get(spec.get("set_department") or ""),
                "assignee_choice": spec.get("assignee_choice", ""),
                "add_tags": spec.get("add_tags", ""),
                "note": spec.get("note", ""),
            },
        )
        for language, (title, body) in spec["texts"].items():
            MacroText.objects.get_or_create(
                macro=macro, language=language, defaults={"title": title, "body": body}
            )
