"""Which language a customer's message is in, and so which language we answer it in.

One rule for every channel (mail refusals, automatic answers to nudges, new tickets, the API):
the language of the customer's own text when it is clear, else the language of their account,
else the language of the page they wrote on, else the site's.

"Clear" is deliberately strict. Cyrillic is Russian here and Arabic script is Persian, so two
words in those scripts are enough. Latin text must have at least three words and one of
Azerbaijani, Turkish or English must clearly lead: ə is Azerbaijani (Turkish has none), the
present tense in -iyor is Turkish, and the commonest words of each language count one each.
A greeting alone ("Salam", "Merhaba", "Hello") is never clear: "Salam" is typed by
Azerbaijani, Turkish, Russian and Persian speakers alike.
"""

from __future__ import annotations

import re

from django.conf import settings

__all__ = ["choose_language", "detect_language", "guess_language", "site_language"]

# Common words, lowercase; a word in two lists counts for both and so decides nothing.
# Azerbaijani
WORDS_AZ = frozenset(
    {"və", "bu", "bir", "da", "də", "ki", "ilə", "üçün", "nə", "necə", "niyə", "hansı", "mən",
     "sən", "biz", "siz", "onlar", "mənim", "sizin", "bizim", "var", "yox", "yoxdur", "deyil",
     "amma", "ancaq", "lakin", "çox", "daha", "artıq", "hələ", "həm", "hər", "heç", "indi",
     "sonra", "əvvəl", "bəli", "xeyr", "salam", "sağ", "olun", "zəhmət", "olmasa", "xahiş",
     "edirəm", "təşəkkür", "edirik", "cavab", "vaxt", "gün", "saat", "sayt", "xidmət", "işləmir",
     "kömək", "lazımdır", "qədər", "gözləyirəm", "edin", "olur", "olmur", "bilmirəm",
     "bilərsiniz", "mənə", "sizə", "hesab", "ödəniş", "sifariş", "kabinet", "daxil", "ola",
     "xəta", "verir", "verəcəksiniz", "baxın", "yoxlayın"}
)  # fmt: skip
# Turkish
WORDS_TR = frozenset(
    {"ve", "bu", "bir", "da", "de", "ki", "ile", "için", "ne", "nasıl", "neden", "niye", "hangi",
     "ben", "sen", "biz", "siz", "onlar", "benim", "sizin", "bizim", "var", "yok", "değil",
     "ama", "fakat", "ancak", "çok", "daha", "artık", "hala", "hâlâ", "halen", "hem", "her",
     "hiç", "şimdi", "sonra", "önce", "evet", "hayır", "merhaba", "selam", "lütfen",
     "teşekkürler", "teşekkür", "ederim", "ediyorum", "cevap", "yanıt", "zaman", "gün", "saat",
     "site", "hizmet", "yardım", "gerekiyor", "kadar", "edin", "olur", "bilmiyorum", "misiniz",
     "musunuz", "bana", "size", "hesap", "ödeme", "sipariş", "giriş", "hata", "dönüş", "talep",
     "talebim", "hakkında", "acaba", "şu", "gibi", "mi", "mı", "mu", "mü", "iyi", "günler",
     "sorun", "yapacaksınız", "vereceksiniz", "bakar", "bakabilir"}
)  # fmt: skip
# English
WORDS_EN = frozenset(
    {"the", "a", "an", "and", "or", "but", "is", "are", "was", "were", "be", "been", "to", "of",
     "in", "on", "at", "for", "with", "from", "by", "it", "this", "that", "i", "you", "we", "my",
     "your", "our", "me", "not", "no", "yes", "have", "has", "had", "do", "does", "did", "can",
     "could", "will", "would", "please", "thanks", "thank", "hello", "hi", "when", "what", "why",
     "how", "where", "which", "there", "still", "any", "update", "answer", "reply", "help",
     "error", "account", "payment", "order", "site", "service", "working", "down", "since",
     "waiting", "get", "login", "cannot", "can't", "don't", "doesn't"}
)  # fmt: skip
_WORDS = {"az": WORDS_AZ, "tr": WORDS_TR, "en": WORDS_EN}

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_TURKISH_PRESENT = re.compile(r"[iıuü]yor")
_ASCII = re.compile(r"[a-z'’]+")

#: Fewest words of a unique script (Cyrillic, Arabic) and of Latin text for a clear answer.
MIN_WORDS_UNIQUE_SCRIPT = 2
MIN_WORDS_LATIN = 3
#: The leader needs this many points and this many times the runner-up's.
MIN_SCORE = 2.0
LEAD_FACTOR = 2.0


def _lower(word: str) -> str:
    # "İ".lower() is "i" plus a combining dot; Turkish and Azerbaijani mean a plain i.
    return word.lower().replace("i\u0307", "i").replace("’", "'")


def _script(word: str) -> str:
    for char in word:
        if "\u0400" <= char <= "\u04ff":
            return "cyrillic"
        if "\u0600" <= char <= "\u06ff" or "\ufb50" <= char <= "\ufdff":
            return "arabic"
    return "latin"


def _scores(text: str) -> tuple[dict[str, float], int, int]:
    """Points per language, the number of words, and of words in a unique script."""
    scores = {"az": 0.0, "fa": 0.0, "ru": 0.0, "tr": 0.0, "en": 0.0}
    words = [_lower(word) for word in _WORD.findall(text[:4000])]
    unique = 0
    for word in words:
        script = _script(word)
        if script == "cyrillic":
            scores["ru"] += 1
            unique += 1
            continue
        if script == "arabic":
            scores["fa"] += 1
            unique += 1
            continue
        if "ə" in word:
            scores["az"] += 2
        if _TURKISH_PRESENT.search(word):
            scores["tr"] += 2
        if not _ASCII.fullmatch(word):  # ğ ş ç ö ü ı: not English
            scores["az"] += 0.5
            scores["tr"] += 0.5
        for language, common in _WORDS.items():
            if word in common:
                scores[language] += 1
    return scores, len(words), unique


def _leader(scores: dict[str, float]) -> tuple[str, float, float]:
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    (best, top), (_runner, second) = ranked[0], ranked[1]
    return best, top, second


def detect_language(text: str) -> str | None:
    """The language of `text` when it is clear (see the module's rule), else None."""
    scores, count, unique = _scores(text)
    best, top, second = _leader(scores)
    minimum = MIN_WORDS_UNIQUE_SCRIPT if best in ("ru", "fa") else MIN_WORDS_LATIN
    enough = (unique if best in ("ru", "fa") else count) >= minimum
    if not enough or top < MIN_SCORE or top < LEAD_FACTOR * second:
        return None
    return best


def guess_language(text: str) -> str | None:
    """The likeliest language of `text`, however little it says: for a first-time writer
    who has no account yet ("Salam" guesses Azerbaijani). None when nothing tells."""
    clear = detect_language(text)
    if clear is not None:
        return clear
    best, top, second = _leader(_scores(text)[0])
    return best if top > second else None


def site_language() -> str:
    code = settings.LANGUAGE_CODE.split("-")[0]
    return code if code in dict(settings.LANGUAGES) else "en"


def _offered(code: str | None) -> str | None:
    if not code:
        return None
    code = code.split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else None


def choose_language(text: str, *, account: str | None = None, page: str | None = None) -> str:
    """The language to answer a customer's `text` in: the text's own when clear, else the
    account's, else the page's, else the site's."""
    return _offered(detect_language(text)) or _offered(account) or _offered(page) or site_language()
