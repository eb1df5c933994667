"""The language a messenger customer writes in, read from their own words.

The script decides most of it: Cyrillic is Russian (Azerbaijani Cyrillic by its own letters),
the Arabic script is Persian. Latin text is Azerbaijani when it has "ə"; otherwise
lingua-language-detector, restricted to Azerbaijani, Turkish and English in its low-accuracy
(trigram) mode, tells the three apart. Its models are in its wheel (nothing is fetched at run
time); the detector is built once per process, on the first Latin text, and takes about 15 MB.
A text too short or too unclear to be sure of gives None: the caller keeps what it had (the
messenger app's language)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.conf import settings

from destek.accounts.models import User
from destek.messaging.identity import messenger_kind
from destek.messaging.models import Contact

if TYPE_CHECKING:
    from lingua import LanguageDetector

#: Fewer letters than this say too little about a language ("ok", "salam").
MIN_LETTERS = 8
#: lingua's confidence (0-1) from which its answer is taken.
CONFIDENCE = 0.9
#: Of the letters, the share one script needs to decide.
SCRIPT_SHARE = 0.6

_AZ_CYRILLIC = frozenset("әҹғҝүһјӘҸҒҜҮҺЈ")
_lock = threading.Lock()
_detector: LanguageDetector | None = None


def _latin_detector() -> LanguageDetector:
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            _detector = (
                LanguageDetectorBuilder.from_languages(
                    Language.AZERBAIJANI, Language.TURKISH, Language.ENGLISH
                )
                .with_low_accuracy_mode()
                .build()
            )
        return _detector


def _script(char: str) -> str:
    code = ord(char)
    if 0x0400 <= code <= 0x052F:
        return "cyrillic"
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
        return "arabic"
    if code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    return "other"


def detect(text: str) -> str | None:
    """ "az", "fa", "ru", "tr" or "en" (of those the site offers) when the text says so
    clearly, else None. Never raises."""
    try:
        found = _detect(text)
    except Exception:  # a detector's fault must never stop a message
        return None
    return found if found in dict(settings.LANGUAGES) else None


def _detect(text: str) -> str | None:
    letters = [c for c in text[:2000] if c.isalpha()]
    if len(letters) < MIN_LETTERS:
        return None
    counts: dict[str, int] = {}
    for char in letters:
        script = _script(char)
        counts[script] = counts.get(script, 0) + 1
    script, count = max(counts.items(), key=lambda item: item[1])
    if count < SCRIPT_SHARE * len(letters):
        return None
    if script == "cyrillic":
        return "az" if _AZ_CYRILLIC.intersection(letters) else "ru"
    if script == "arabic":
        return "fa"
    if script != "latin":
        return None
    if "ə" in letters or "Ə" in letters:
        return "az"
    latin = "".join(c if _script(c) == "latin" or not c.isalpha() else " " for c in text[:2000])
    values = _latin_detector().compute_language_confidence_values(latin)
    if not values or values[0].value < CONFIDENCE:
        return None
    return {"AZERBAIJANI": "az", "TURKISH": "tr", "ENGLISH": "en"}.get(values[0].language.name)


def learn(contact: Contact, text: str) -> None:
    """Take the contact's language from their words, once: the first text that says it
    clearly decides (a command or a short "hi" does not), the bot answers in it from then on,
    and a customer account made for the contact gets it too."""
    if contact.language_detected or not text or text.startswith("/"):
        return
    found = detect(text)
    if found is None:
        return
    Contact.objects.filter(pk=contact.pk).update(language=found, language_detected=True)
    contact.language, contact.language_detected = found, True
    customer = contact.customer
    if messenger_kind(customer.email) and customer.language != found:
        User.objects.filter(pk=customer.pk).update(language=found)
        customer.language = found
