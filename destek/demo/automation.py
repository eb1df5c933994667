"""The demo's automation beyond intake routing: a schedule rule that reminds a customer the
team is waiting for, in the five languages, so `make run` shows a time rule at work. Loaded
with the full demo only (the suite's tests make their own rules)."""

from __future__ import annotations

from destek.automation.models import Rule, RuleKind, RuleText

REMIND_NAME = "Remind a customer we wait for (3 days)"

#: (language, subject, text): the reminder in each language, with the rule's placeholders.
REMINDER_TEXTS = [
    (
        "en",
        "We are waiting for your answer: {ticket_number}",
        "Hello {customer_name},\n\nwe asked you a question on ticket {ticket_number} three "
        "days ago and are waiting for your answer to go on. If the problem is solved, you can "
        "also tell us so.\n\n{department}",
    ),
    (
        "az",
        "Cavabınızı gözləyirik: {ticket_number}",
        "Salam, {customer_name}!\n\nÜç gün əvvəl {ticket_number} nömrəli müraciətinizlə bağlı "
        "sizə sual verdik və davam etmək üçün cavabınızı gözləyirik. Problem həll olunubsa, "
        "bunu da bizə yaza bilərsiniz.\n\n{department}",
    ),
    (
        "fa",
        "منتظر پاسخ شما هستیم: {ticket_number}",
        "{customer_name} گرامی،\n\nسه روز پیش درباره‌ی تیکت {ticket_number} از شما سؤالی "
        "پرسیدیم و برای ادامه‌ی کار منتظر پاسخ شما هستیم. اگر مشکل حل شده است، همین را "
        "به ما بگویید.\n\n{department}",
    ),
    (
        "ru",
        "Ждём вашего ответа: {ticket_number}",
        "Здравствуйте, {customer_name}!\n\nТри дня назад мы задали вам вопрос по обращению "
        "{ticket_number} и ждём ответа, чтобы продолжить. Если проблема решена, сообщите "
        "нам, пожалуйста.\n\n{department}",
    ),
    (
        "tr",
        "Yanıtınızı bekliyoruz: {ticket_number}",
        "Merhaba {customer_name},\n\nÜç gün önce {ticket_number} numaralı talebinizle ilgili "
        "size bir soru sorduk ve devam etmek için yanıtınızı bekliyoruz. Sorun çözüldüyse "
        "bunu da bize bildirebilirsiniz.\n\n{department}",
    ),
]


def load_automation() -> None:
    """The reminder rule; by name, so loading twice adds nothing."""
    rule, made = Rule.objects.get_or_create(
        name=REMIND_NAME,
        defaults={
            "kind": RuleKind.SCHEDULE,
            "position": 100,
            "conditions": [
                {"field": "status", "op": "is", "value": "pending"},
                {"field": "days_in_status", "op": "gte", "value": 3},
            ],
            "actions": [{"type": "mail_customer"}],
        },
    )
    if made:
        for language, subject, body in REMINDER_TEXTS:
            RuleText.objects.create(rule=rule, language=language, subject=subject, body=body)
