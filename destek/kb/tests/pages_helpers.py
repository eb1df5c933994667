"""Articles for the help-centre tests, written through the real actions (not the demo
content, which changes)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from destek.kb.actions import save_translation
from destek.kb.choices import ArticleStatus, Visibility
from destek.kb.models import Article, Section, Translation


def section(slug: str = "account", **titles: str) -> Section:
    found, _created = Section.objects.get_or_create(
        slug=slug,
        defaults={"titles": titles or {"en": "Account", "fa": "حساب کاربری", "ru": "Аккаунт"}},
    )
    return found


def article(
    key: str,
    translations: dict[str, tuple[str, str]],
    *,
    status: str = ArticleStatus.PUBLISHED,
    visibility: str = Visibility.PUBLIC,
    tags: str = "",
    where: Section | None = None,
    **extra: Any,
) -> Article:
    """`translations`: language -> (title, Markdown body)."""
    made = Article.objects.create(
        key=key,
        section=where or section(),
        status=status,
        visibility=visibility,
        tags=tags,
        **extra,
    )
    for language, (title, body) in translations.items():
        save_translation(made, language=language, title=title, body=body)
    return made


def page(made: Article, language: str) -> str:
    """The article's address as the pages link it (non-ASCII slugs percent-encoded)."""
    slug = Translation.objects.get(article=made, language=language).slug
    return reverse("kb:article", args=[language, slug])


def reset_password(**kw: Any) -> Article:
    return article(
        "reset-password",
        {
            "en": (
                "Reset your password",
                "Forgot your password? Open the sign-in page and choose **Forgot password**.\n\n"
                "1. Enter your e-mail address.\n2. Open the link in the mail.\n",
            ),
            "fa": (
                "بازنشانی رمز عبور",
                "رمز عبور خود را فراموش کرده‌اید؟ در صفحهٔ ورود «فراموشی رمز عبور» را بزنید.\n",
            ),
            "ru": (
                "Сброс пароля",
                "Забыли пароль? Откройте страницу входа и нажмите «Забыли пароль».\n",
            ),
        },
        tags="password, sign-in",
        **kw,
    )
