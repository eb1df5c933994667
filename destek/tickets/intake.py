"""Intake rules: which new tickets and replies say too little, and how tickets relate.

Pure functions on text, no Django: the actions in `destek.tickets.actions` decide what to do
with the answers (refuse, explain, do not bump the queue, route). Everything matches on
`normalize_text` keys, so case, punctuation, emoji, Arabic/Persian letter variants, Persian and
Arabic digits, ZWNJ and the Turkish/Azerbaijani dotted and dotless i never matter.

The word lists are small on purpose: they name the words customers actually use in the five
site languages (az, fa, ru, tr, en). An entry ending in "*" is a stem and matches any word that
starts with it, which is how inflections ("sualım", "вопросик", "talebim") are covered.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable

from destek.lib.text import normalize_text, strip_invisible

__all__ = [
    "is_generic_subject",
    "is_near_duplicate",
    "is_nudge",
    "is_shouting",
    "matches_keywords",
    "similarity",
]

# Letters that customers type without their marks when their keyboard lacks them
# ("donus" for "dönüş", "vereceksiniz" for "verəcəksiniz"). Patterns accept both spellings.
_UNMARKED = {"ö": "[öo]", "ü": "[üu]", "ş": "[şs]", "ç": "[çc]", "ğ": "[ğg]", "ə": "[əe]"}


def _loosen(pattern: str) -> str:
    # Patterns in this module never put these letters inside a character class, so a plain
    # replacement is safe.
    return "".join(_UNMARKED.get(ch, ch) for ch in pattern)


def _entry_pattern(entry: str) -> str:
    """Regex for one word-list entry; a trailing "*" makes it a stem."""
    stem = entry.endswith("*")
    key = normalize_text(entry.rstrip("*"))
    return _loosen(re.escape(key)) + (r"\w*" if stem else "")


def _whole_words(alternatives: Iterable[str]) -> re.Pattern[str]:
    """Compile alternatives that must each cover whole words of a matching key.

    Matching keys separate words with single spaces, so "not preceded/followed by a non-space"
    is a word boundary that also works for scripts where `\\b` is unreliable.
    Longer alternatives come first so that a phrase wins over the word it starts with.
    """
    ordered = sorted(set(alternatives), key=lambda alt: (-len(alt), alt))
    return re.compile(r"(?<![^ ])(?:" + "|".join(ordered) + r")(?![^ ])")


def _entries(*word_sets: frozenset[str]) -> list[str]:
    return [_entry_pattern(entry) for words in word_sets for entry in words]


def _strip_matches(pattern: re.Pattern[str], key: str) -> tuple[str, int]:
    """Remove the matches of `pattern` from a matching key; return the rest and the count."""
    rest, count = pattern.subn(" ", key)
    return " ".join(rest.split()), count


# --- greetings, politeness and filler -----------------------------------------------------------
# Words that carry no request of their own. They are removed before deciding whether a subject
# is generic or a message is only a nudge.

# English
GREETINGS_EN = frozenset(
    {"hello*", "hi", "hey", "hiya", "greetings", "dear", "good morning", "good afternoon",
     "good evening", "good day", "team", "there", "all", "sir", "madam", "guys", "folks"}
)  # fmt: skip
POLITENESS_EN = frozenset(
    {"please", "pls", "plz", "kindly", "thanks", "thank you", "thx", "regards"}
)  # fmt: skip
# Azerbaijani
GREETINGS_AZ = frozenset(
    {"salam*", "hörmətli", "sabahınız xeyir", "günortanız xeyir", "axşamınız xeyir",
     "xoş gördük"}
)  # fmt: skip
POLITENESS_AZ = frozenset(
    {"zəhmət olmasa", "zəhmət", "xahiş*", "təşəkkür*", "sağ olun", "minnətdar*"}
)  # fmt: skip
# Persian
GREETINGS_FA = frozenset(
    {"سلام", "درود", "با سلام", "باسلام", "خسته نباشید", "خسته نباشین", "وقت بخیر",
     "وقتتون بخیر", "وقت شما بخیر", "وقت به خیر", "روز بخیر", "صبح بخیر", "ظهر بخیر",
     "عصر بخیر", "شب بخیر", "صبح به خیر", "عصر به خیر"}
)  # fmt: skip
POLITENESS_FA = frozenset(
    {"لطفا", "لطفاً", "خواهشا", "خواهشمندم", "ممنون*", "مرسی", "سپاس*", "متشکرم",
     "با تشکر", "باتشکر", "تشکر"}
)  # fmt: skip
# Russian
GREETINGS_RU = frozenset(
    {"здравствуйте", "здраствуйте", "здравствуй", "здрасте", "привет*", "приветствую",
     "добрый день", "доброе утро", "добрый вечер", "доброго дня", "доброго времени суток",
     "доброй ночи", "уважаем*", "коллеги", "алло", "ау"}
)  # fmt: skip
POLITENESS_RU = frozenset(
    {"пожалуйста", "пожалуйсто", "пжл", "плиз", "спасибо", "заранее спасибо", "благодарю",
     "прошу"}
)  # fmt: skip
# Turkish
GREETINGS_TR = frozenset(
    {"merhaba*", "selam*", "iyi günler", "iyi çalışmalar", "günaydın", "iyi akşamlar",
     "sayın", "değerli"}
)  # fmt: skip
POLITENESS_TR = frozenset(
    {"lütfen", "rica ederim", "rica ediyorum", "rica*", "teşekkür*", "sağ olun", "saygılar*"}
)  # fmt: skip

_GREETINGS_AND_POLITENESS = (
    GREETINGS_EN, POLITENESS_EN, GREETINGS_AZ, POLITENESS_AZ, GREETINGS_FA, POLITENESS_FA,
    GREETINGS_RU, POLITENESS_RU, GREETINGS_TR, POLITENESS_TR,
)  # fmt: skip

# --- generic subjects ---------------------------------------------------------------------------

# Filler that can surround a generic word in a subject: "I have a question about", "у меня
# вопрос по", "bir sorum var", "sualım var", "یک سوال دارم".
# English
SUBJECT_FILLER_EN = frozenset(
    {"a", "an", "the", "my", "i", "i ve", "ve", "have", "has", "got", "need", "needed",
     "some", "small", "quick", "little", "new", "about", "with", "regarding", "for", "on",
     "me", "can", "you", "is", "there", "re", "fw", "fwd"}
)  # fmt: skip
# Azerbaijani
SUBJECT_FILLER_AZ = frozenset(
    {"bir", "mənim", "məndə", "var", "haqqında", "barədə", "ilə", "üçün", "yeni", "kiçik",
     "edin", "edərsiniz", "edə bilərsiniz", "göstərin", "lazımdır", "lazım"}
)  # fmt: skip
# Persian
SUBJECT_FILLER_FA = frozenset(
    {"یک", "یه", "من", "دارم", "داشتم", "داریم", "در مورد", "درمورد", "درباره", "راجع به",
     "در", "به", "با", "برای", "جدید", "کوچک", "کنید", "کنین", "لازم", "نیاز"}
)  # fmt: skip
# Russian
SUBJECT_FILLER_RU = frozenset(
    {"у", "меня", "мне", "есть", "нужна", "нужен", "нужно", "по", "о", "об", "с", "насчет",
     "к", "вам", "вас", "один", "небольшой", "маленький", "новый", "новая", "вот"}
)  # fmt: skip
# Turkish
SUBJECT_FILLER_TR = frozenset(
    {"bir", "benim", "var", "hakkında", "ile", "için", "konusunda", "ilgili", "yeni",
     "küçük", "acaba", "mi", "mu", "mü", "edin", "eder misiniz", "olur musunuz",
     "lazım", "gerekiyor"}
)  # fmt: skip

# Words that name no subject at all. Stems cover the inflections customers type.
# English
GENERIC_EN = frozenset(
    {"question*", "request*", "problem*", "help*", "issue*", "support*", "urgent*", "query",
     "queries", "inquiry", "enquiry", "assistance", "trouble", "info", "information",
     "important", "asap", "sos", "ticket*"}
)  # fmt: skip
# Azerbaijani
GENERIC_AZ = frozenset(
    {"sual*", "sorğu*", "müraciət*", "problem*", "kömək*", "köməy*", "yardım*", "təcili*",
     "dəstək*", "dəstəy*", "məlumat*", "vacib"}
)  # fmt: skip
# Persian
GENERIC_FA = frozenset(
    {"سوال*", "سؤال*", "درخواست*", "مشکل*", "کمک*", "فوری*", "ضروری", "اضطراری",
     "پشتیبانی", "تیکت*", "مهم"}
)  # fmt: skip
# Russian
GENERIC_RU = frozenset(
    {"вопрос*", "запрос*", "проблем*", "помощ*", "помоги*", "помогите", "срочн*", "заявк*",
     "обращени*", "поддержк*", "техподдержк*", "информаци*", "важн*"}
)  # fmt: skip
# Turkish
GENERIC_TR = frozenset(
    {"soru*", "talep*", "taleb*", "yardım*", "acil*", "destek*", "desteğ*", "problem*",
     "bilgi*", "önemli"}
)  # fmt: skip

# One pattern for everything a generic subject may consist of: what is left after removing
# its matches must be empty.
_GENERIC_SUBJECT_WORDS = _whole_words(
    _entries(
        *_GREETINGS_AND_POLITENESS,
        SUBJECT_FILLER_EN, SUBJECT_FILLER_AZ, SUBJECT_FILLER_FA, SUBJECT_FILLER_RU,
        SUBJECT_FILLER_TR,
        GENERIC_EN, GENERIC_AZ, GENERIC_FA, GENERIC_RU, GENERIC_TR,
    )
)  # fmt: skip

# Longer subjects are never "only generic words"; skip the work.
_GENERIC_SUBJECT_MAX_WORDS = 16


def is_generic_subject(subject: str) -> bool:
    """True when `subject` names no problem: "Hello!", "Salam, sualım var", "سلام، سوال".

    The rule: take the matching key of the subject and remove greetings, politeness words
    and filler ("a", "my", "I have a", "у меня", "bir ... var", "دارم"); the subject is generic
    when nothing is left or only generic words are ("question", "problem", "help", "urgent"
    and their az/fa/ru/tr forms, inflections included). Emoji and punctuation never count.
    An empty subject is generic. Any other word (a number, "invoice", "сайт") makes the
    subject real.
    """
    key = normalize_text(subject)
    if len(key.split()) > _GENERIC_SUBJECT_MAX_WORDS:
        return False
    rest, _ = _strip_matches(_GENERIC_SUBJECT_WORDS, key)
    return not rest


# --- shouting -----------------------------------------------------------------------------------

# After NFKC the fullwidth ？！ and the ligatures ‼ ⁇ ⁈ ⁉ are plain ASCII marks; ؟ is the
# Arabic-script question mark, ¿ ¡ the inverted ones, ‽ the interrobang.
_MARK = "[?!؟¿¡‽]"
_SHOUTING = re.compile(rf"{_MARK}(?:\s*{_MARK}){{2,}}")


def is_shouting(subject: str) -> bool:
    """True when `subject` has a run of three or more question or exclamation marks.

    Marks of any script count and mix ("?!?", "؟؟؟", "？！？"); whitespace between them does not
    break the run ("? ? ?"). Two marks are fine.
    """
    return _SHOUTING.search(strip_invisible(unicodedata.normalize("NFKC", subject))) is not None


# --- nudges -------------------------------------------------------------------------------------

# Ticket references are noise in a nudge: "#123456", "№ 12345", "No. 123", "DST-12345" after
# a sign. Removed from the raw text because normalisation turns "#" into a space and "№"
# into "no".
_TICKET_REFERENCE = re.compile(r"(?:[#№]|\bno\.|\bnr\.?)\s*(?:[^\W\d_]{1,5}-)?\d[\d-]*", re.I)

# Words that say which ticket or add nothing, removed after the nudge phrases.
# English
NUDGE_FILLER_EN = frozenset(
    {"my", "our", "the", "this", "that", "it", "on", "for", "of", "to", "about", "a", "an",
     "me", "us", "we", "i", "is", "are", "there", "yet", "already", "again", "so", "ok",
     "okay", "just", "ticket*", "request*", "case", "issue*", "number", "no"}
)  # fmt: skip
# Azerbaijani
NUDGE_FILLER_AZ = frozenset(
    {"bu", "mənim", "artıq", "hələ", "hələ də", "də", "da", "bəs", "müraciət*", "sorğu*",
     "bilet*", "nömrə*"}
)  # fmt: skip
# Persian
NUDGE_FILLER_FA = frozenset(
    {"پس", "من", "بنده", "به", "را", "رو", "ما", "شما", "این", "آیا", "هنوز", "تیکت*",
     "درخواست*", "شماره*"}
)  # fmt: skip
# Russian
NUDGE_FILLER_RU = frozenset(
    {"а", "и", "ну", "вы", "мне", "нам", "мы", "я", "мою", "мой", "моя", "моей", "по", "ли",
     "уже", "же", "так", "вот", "эту", "это", "этой", "этому", "там", "хоть", "заявк*",
     "обращени*", "тикет*", "номер*"}
)  # fmt: skip
# Turkish
NUDGE_FILLER_TR = frozenset(
    {"bir", "bu", "benim", "acaba", "mi", "mu", "mü", "hala", "hâlâ", "halen", "artık",
     "talep*", "taleb*", "bilet*", "kayıt*", "kayd*", "numara*"}
)  # fmt: skip

# Phrases that ask only for news, written as regexes over matching keys (lowercase, "ı" as
# "i", "ё" as "е", ZWNJ removed, Persian letters). `_loosen` adds the unmarked spellings.
# English
NUDGE_PHRASES_EN = (
    r"when (?:will|would|do|can|are|shall|should|is) (?:you|u|i|we|someone|somebody|anyone"
    r"|anybody|it|this|they)(?: guys)?(?: be)?(?: going to| gonna| able to)? (?:answer|reply"
    r"|repl|respond|get|hear|look|check|fix|resolve|solve|contact|help|be)\w*",
    r"(?:is there |are there )?any (?:update|news|progress|answer|reply|replies|response"
    r"|feedback|word|luck|eta|status)\w*",
    r"(?:i am |i m |im |we are |we re )?still waiting\w*(?: for)?(?: (?:an?|your|any))?"
    r"(?: (?:answer|reply|response|update|news)\w*)?",
    r"(?:i am |i m |im |we are |we re )?waiting for (?:an? |your |any )?(?:answer|reply"
    r"|response|update|news|feedback)\w*",
    r"how (?:much|many) (?:longer|more|time|days|hours|weeks)(?: (?:do|will|should|must"
    r"|shall) (?:i|we) (?:have to |need to )?wait)?",
    r"how long (?:\w+ ){0,4}wait\w*",
    r"(?:please |pls |kindly )?(?:look|check|review) (?:at |into )?(?:my |our |the |this )?"
    r"(?:ticket|request|case|issue)\w*",
    r"(?:take|have) a look (?:at )?(?:my |our |the |this )?(?:ticket|request|case|issue)\w*",
    r"no (?:answer|reply|response|update|news)\w*(?: yet)?",
    r"why (?:is there )?no (?:answer|reply|response|update)\w*",
    r"why (?:don t|dont|do not|didn t|didnt|did not|haven t|havent|have not|won t|aren t)"
    r" (?:you|u|anyone|anybody|someone)(?: guys)? (?:answer|reply|respond|get back)\w*",
    r"(?:why )?(?:is )?(?:nobody|no one|noone) (?:is )?(?:answer|reply|respond|help)\w*",
    r"(?:is )?(?:anyone|anybody|someone|somebody) (?:there|here|home|alive)",
    r"(?:are )?you (?:guys )?(?:there|alive)",
    r"(?:just )?(?:following|follow) up",
    r"(?:just )?checking in",
    r"(?:friendly |gentle )?reminder",
    r"bump",
    r"(?:what s|whats|what is) the (?:status|eta|progress)\w*",
    r"status update",
)
# Azerbaijani
NUDGE_PHRASES_AZ = (
    r"nə vaxt (?:mənə |bizə )?(?:cavab|xəbər|nəticə|dönüş|geri dönüş|məlumat)\w*"
    r" (?:ver|al|ol|yaz|gəl|çat)\w*",
    r"nə vaxt (?:bax|həll|cavabla|düzəl|ilgilən|dön|əlaqə)\w*",
    r"(?:bir |hər hansı |heç )?(?:xəbər|yenilik|cavab|nəticə|irəliləyiş|dəyişiklik|məlumat)\w*"
    r" (?:var mi|varmi|var|yoxdur|yox mu|yox)",
    r"nə qədər (?:də |daha )?gözlə\w*",
    r"(?:cavab|nəticə)\w* gözləyir\w*",
    r"gözləyir(?:əm|ik)",
    r"niyə (?:cavab|geri dönüş)\w* (?:vermirsiniz|vermədiniz|yoxdur|yox|gəlmir)",
    r"niyə cavablamirsiniz",
    r"(?:müraciət|sorğu)\w* (?:bax|yoxla|nəzər)\w*(?: (?:bilərsiniz|edin|keçirin))?",
)
# Persian
NUDGE_PHRASES_FA = (
    # "چرا جواب نمی‌دهید" in all its spellings: نمی‌دهید, نمیدهید, نمی دهید, نمیدین, ندادید.
    r"چرا (?:\w+ ){0,2}(?:جواب|پاسخ)\w* (?:نمی ?\w+|ندا\w+|داده نش\w*|نیومد\w*|نیامد\w*)",
    r"چرا (?:\w+ ){0,2}پاسخگو\w* (?:نیستید|نیستین|نمی ?باشید)",
    # "کی جواب می‌دهید" and "چه زمانی پاسخ داده می‌شود".
    r"(?:کی|چه زمانی|چه موقع|چه وقت) (?:\w+ ){0,2}(?:جواب|پاسخ|رسیدگی|بررسی)\w*"
    r" (?:می ?\w+|خواهید \w+|داده \w+)",
    r"(?:هیچ )?خبری? (?:نشد|نیست|نیس|هست|شد|داره|دارید|دارین)",
    r"چه خبر",
    r"منتظر(?:م|یم)?(?: (?:جواب|پاسخ)\w*)?(?: (?:هستم|هستیم|شما|هستیم))?",
    r"چقدر (?:دیگه |دیگر )?(?:باید )?(?:صبر|منتظر)\w*(?: (?:کنم|کنیم|بمانم|بمونم|باشم))?",
    r"(?:پیگیری|رسیدگی|بررسی) (?:کنید|کنین|بفرمایید|نمایید|شود|بشه)",
    r"کسی (?:اونجا |انجا )?(?:نیست|هست)",
    r"(?:جواب|پاسخ)\w* (?:ندادید|ندادین|نگرفتم|نیامد|نیومد|داده نشد\w*)",
)
# Russian
NUDGE_PHRASES_RU = (
    r"когда (?:же )?(?:вы |мне |нам )?(?:уже )?(?:ответ\w*|будет (?:ответ|решение|результат)\w*"
    r"|посмотр\w*|рассмотр\w*|решит\w*|исправ\w*|почин\w*|сделает\w*|займ\w*|свяж\w*"
    r"|отпиш\w*)",
    r"сколько (?:(?:еще|можно|мне|нам|уже|же) )*(?:ждать|ожидать|ждем|жду)",
    r"(?:посмотрите|проверьте|гляньте|рассмотрите|обратите внимание на)(?: (?:мою|нашу|эту"
    r"|мой|наш|этот|мое|наше))? (?:заявк|обращени|тикет|запрос|вопрос)\w*",
    r"ответьте|ответь",
    r"(?:есть|какие|появились)(?: ли)?(?: (?:какие то|какие нибудь|уже))?"
    r" (?:новости|подвижки|изменения|результаты|ответ)",
    r"(?:новости|подвижки) (?:есть|будут)",
    r"что нового",
    r"что (?:там )?(?:с|по) (?:моей |нашей )?(?:заявк|обращени|тикет|запрос)\w*",
    r"(?:(?:все еще|до сих пор|по прежнему|уже|еще) )?(?:жду|ждем|ожидаю|ожидаем)"
    r"(?: (?:ответа|ответ|решения|новостей|обратной связи))?",
    r"почему (?:вы )?(?:не отвечаете|не отвечают|молчите|нет ответа|никто не отвечает)",
    r"(?:нет|никакого|никаких) (?:ответа|ответов|реакции|новостей)",
    r"никто не (?:отвечает|ответил)",
    r"есть кто(?: (?:нибудь|живой|живые))?",
    r"напоминаю(?: о себе)?",
    r"(?:прошу|просьба) (?:ответить|дать ответ|ускорить|рассмотреть)",
)
# Turkish
NUDGE_PHRASES_TR = (
    r"ne zaman (?:bana |bize )?(?:cevap|yanit|dönüş|geri dönüş|haber|bilgi|sonuç|çözüm"
    r"|dönüt)\w* (?:ver|yap|al|ol|gel|çik|dön)\w*",
    r"ne zaman (?:dön|bak|çöz|ilgilen|cevapla|yanitla|düzel|hallet|halled|ulaş)\w*",
    r"(?:bir |herhangi bir |hiç )?(?:gelişme|haber|bilgi|dönüş|cevap|yanit|ilerleme|sonuç)\w*"
    r" (?:var mi|varmi|yok mu|var|yok|mevcut mu)",
    r"ne kadar (?:daha )?(?:bekle|süre)\w*",
    r"(?:cevap|yanit|dönüş)\w* (?:bekliyorum|bekliyoruz|alamadim|alamadik|gelmedi)",
    r"bekliyor(?:um|uz)",
    r"(?:bakabilir|bakar|ilgilenebilir|ilgilenir|kontrol edebilir|kontrol eder)"
    r" (?:misiniz|musunuz|mi)",
    r"neden (?:cevap|yanit|dönüş)\w* (?:vermiyorsunuz|yapmiyorsunuz|yok|gelmiyor|verilmiyor)",
    r"neden (?:dönmüyorsunuz|cevaplamiyorsunuz|yanitlamiyorsunuz)",
    r"kimse yok mu",
)

_NUDGE_PHRASES = _whole_words(
    _loosen(phrase)
    for phrase in (
        *NUDGE_PHRASES_EN, *NUDGE_PHRASES_AZ, *NUDGE_PHRASES_FA, *NUDGE_PHRASES_RU,
        *NUDGE_PHRASES_TR,
    )
)  # fmt: skip
_NUDGE_FILLER = _whole_words(
    _entries(
        *_GREETINGS_AND_POLITENESS,
        NUDGE_FILLER_EN, NUDGE_FILLER_AZ, NUDGE_FILLER_FA, NUDGE_FILLER_RU, NUDGE_FILLER_TR,
    )
)  # fmt: skip

# A nudge may keep a few words of its own ("any update on the invoice?") but no more.
NUDGE_MAX_OTHER_WORDS = 3
# Beyond these sizes a message carries content whatever it says; checked before the regexes.
_NUDGE_MAX_CHARS = 1000
_NUDGE_MAX_WORDS = 40


def is_nudge(text: str) -> bool:
    """True when a customer message only asks for news ("any update?", «Когда ответите?»).

    The rule, on the matching key of `text` (quoted earlier mail must already be removed):

    1. ticket references ("#123456", "№ 12345", "No. 7") are dropped;
    2. the nudge phrases of the five languages are removed ("when will you answer",
       "сколько ещё ждать", "ne zaman dönüş yapacaksınız", "nə vaxt cavab verəcəksiniz",
       "چرا جواب نمی‌دهید" with or without ZWNJ or space, ...); if none matched, it is not a
       nudge;
    3. greetings, politeness and filler ("hello", "please", "my ticket", "заявку", "acaba",
       "هنوز") are removed;
    4. it is a nudge when at most `NUDGE_MAX_OTHER_WORDS` words remain.

    Messages longer than 1,000 characters or 40 words are never nudges.
    """
    if len(text) > _NUDGE_MAX_CHARS:
        return False
    key = normalize_text(_TICKET_REFERENCE.sub(" ", text))
    if len(key.split()) > _NUDGE_MAX_WORDS:
        return False
    rest, phrases = _strip_matches(_NUDGE_PHRASES, key)
    if not phrases:
        return False
    rest, _ = _strip_matches(_NUDGE_FILLER, rest)
    return len(rest.split()) <= NUDGE_MAX_OTHER_WORDS


# --- similarity and duplicates -----------------------------------------------------------------

# SequenceMatcher is quadratic in the worst case; the first 2,000 characters tell duplicates
# apart well enough.
SIMILARITY_MAX_CHARS = 2000


def _matching_key(s: str) -> str:
    # Cut before normalising too, so a megabyte body costs no more than a long one.
    return normalize_text(s[: SIMILARITY_MAX_CHARS * 2])[:SIMILARITY_MAX_CHARS]


def _ratio(a: str, b: str, threshold: float = 0.0) -> float:
    """Similarity of two matching keys; 0.0 as soon as it is known to be below `threshold`."""
    if a == b:
        return 1.0
    # Order the pair so that the result does not depend on argument order.
    if (len(a), a) > (len(b), b):
        a, b = b, a
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # Cheap upper bounds first: most pairs of tickets are nowhere near each other.
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return 0.0
    return matcher.ratio()


def similarity(a: str, b: str) -> float:
    """How alike two texts are, from 0.0 (nothing shared) to 1.0 (the same).

    Compares matching keys (`normalize_text`), so case, punctuation and whitespace do not
    count; only the first 2,000 characters are compared. Two empty texts are the same. The
    result is symmetric: `similarity(a, b) == similarity(b, a)`.
    """
    return _ratio(_matching_key(a), _matching_key(b))


def alike(a: str, b: str, *, threshold: float = 0.9) -> bool:
    """`similarity(a, b) >= threshold`, but cheap when they are far apart (most pairs are):
    different numbers, or an upper bound below the threshold, end it early."""
    if _numbers(a) != _numbers(b):
        return False
    return _ratio(_matching_key(a), _matching_key(b), threshold) >= threshold


_NUMBER = re.compile(r"\d+")


def _numbers(text: str) -> list[str]:
    return _NUMBER.findall(normalize_text(text))


def is_near_duplicate(
    subject_a: str,
    body_a: str,
    subject_b: str,
    body_b: str,
    *,
    threshold: float = 0.9,
) -> bool:
    """True when two tickets have nearly the same subject and nearly the same body.

    Each of the two similarities (see `similarity`) must reach `threshold`, so a few typos
    and any difference in case, punctuation or whitespace still make a duplicate, while the
    same subject with a different body (or the reverse) does not. Numbers must agree
    exactly: "order 12345" and "order 12346" are two problems, however alike the text.
    """
    if _numbers(subject_a + " " + body_a) != _numbers(subject_b + " " + body_b):
        return False
    subject_ratio = _ratio(_matching_key(subject_a), _matching_key(subject_b), threshold)
    if subject_ratio < threshold:
        return False
    return _ratio(_matching_key(body_a), _matching_key(body_b), threshold) >= threshold


# --- keywords -----------------------------------------------------------------------------------

# A trailing vowel of a longer word is usually an inflection ending (оплата/оплаты/оплату,
# ödəmə/ödəməni); dropping it lets the stem match every form. Persian is left alone: its final
# letters are rarely endings.
_STEM_VOWELS = frozenset("аяоеыиуюьəeaiouüö")
_STEM_MIN_LETTERS = 5


def _stem(word: str) -> str:
    if len(word) >= _STEM_MIN_LETTERS and word[-1] in _STEM_VOWELS:
        return word[:-1]
    return word


@functools.lru_cache(maxsize=2048)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    stems = [re.escape(_stem(word)) for word in normalize_text(keyword).split()]
    if not stems:
        return None
    # Every word starts a word of the text and may run on (an inflection); the words follow
    # each other directly.
    return re.compile(r"(?<![^ ])" + r"\S* ".join(stems))


def matches_keywords(text: str, keywords: Iterable[str]) -> bool:
    """True when any of `keywords` occurs in `text`, whatever the case, script variant or ending.

    Text and keywords are compared as matching keys (`normalize_text`). Each keyword word must
    start a word of the text and may be followed by an ending: "payment" matches "payments",
    "ödəniş" matches "Ödənişlə", "پرداخت" matches "پرداخت‌ها"; a word of five or more letters
    ending in a vowel loses that vowel first, so "оплата" matches "оплаты" and "Оплату". A
    keyword of several words matches those words in order, next to each other ("service is
    down" matches "Service is DOWN since 9"). Empty keywords match nothing.
    """
    key = normalize_text(text)
    if not key:
        return False
    for keyword in keywords:
        pattern = _keyword_pattern(keyword)
        if pattern is not None and pattern.search(key):
            return True
    return False
