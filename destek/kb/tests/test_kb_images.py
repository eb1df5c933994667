"""Images in articles are the article's uploaded files only: a remote image is refused when
an agent saves (next to the text, in the agent's language) and never shown from a body
stored before the rule."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import modelform_factory
from django.test import Client

from destek.accounts.models import User
from destek.kb.admin import TranslationForm
from destek.kb.markdown import remote_images, render
from destek.kb.models import Translation
from destek.kb.tests.pages_helpers import page, reset_password

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
REMOTE = "Look here:\n\n![The form](https://tracker.example/pixel.png?reader=1)\n"


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def test_saving_an_article_with_a_remote_image_is_refused_next_to_the_text(
    desk: Client,
) -> None:
    made = reset_password()
    typed = "Steps that must not be lost.\n\n" + REMOTE
    response = desk.post(f"/desk/kb/{made.pk}/en/", {"title": "Reset it", "body": typed})
    text = response.content.decode()
    assert response.status_code == 422
    assert "Only pictures uploaded to this article can be shown." in text
    assert "https://tracker.example/pixel.png?reader=1" in text
    assert "Steps that must not be lost." in text  # what was typed stays in the form
    assert "tracker.example" not in Translation.objects.get(article=made, language="en").body


def test_every_way_of_writing_a_remote_image_is_found() -> None:
    for body in (
        "![a](http://x.example/a.png)",
        "![a][ref]\n\n[ref]: https://x.example/a.png",
        "![a](//x.example/a.png)",
        "![a](data:image/png;base64,AAAA)",
        "Q: Where?\nA: ![a](https://x.example/a.png)",
        "![a](/static/logo.png)",
    ):
        assert remote_images(body), body
    assert remote_images("![shot](file:shot.png) and [a link](https://example.com)") == []


def test_a_remote_image_stored_before_the_rule_is_shown_as_its_description_only(
    db: Any,
) -> None:
    made = reset_password()
    stored = Translation.objects.get(article=made, language="en")
    # As an older version rendered it.
    Translation.objects.filter(pk=stored.pk).update(
        body=REMOTE,
        body_html='<p>Look here:</p><p><img src="https://tracker.example/pixel.png" '
        'alt="The form"></p>',
    )
    response = Client(headers={"Accept-Language": "en"}).get(page(made, "en"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "tracker.example" not in text
    assert "The form" in text


def test_rendering_keeps_uploaded_images_and_drops_every_other() -> None:
    html = render(
        "![shot](file:shot.png) ![far](https://x.example/a.png)", {"shot.png": "/kb/files/ab/"}
    )
    assert '<img src="/kb/files/ab/" alt="shot">' in html
    assert "x.example" not in html and "far" in html


def test_the_admin_refuses_a_remote_image_next_to_the_text(db: Any) -> None:
    made = reset_password()
    form_class = modelform_factory(
        Translation, form=TranslationForm, fields=["language", "title", "slug", "body"]
    )
    form = form_class(
        data={"language": "en", "title": "Reset", "slug": "", "body": REMOTE},
        instance=Translation.objects.get(article=made, language="en"),
    )
    assert not form.is_valid()
    assert "Only pictures uploaded to this article can be shown." in str(form.errors["body"])


def test_uploading_a_file_to_an_article_stored_with_a_remote_image_still_works(
    desk: Client,
) -> None:
    made = reset_password()
    Translation.objects.filter(article=made, language="en").update(
        body="![shot](file:shot.png)\n\n" + REMOTE
    )
    response = desk.post(
        f"/desk/kb/{made.pk}/files/",
        {"file": SimpleUploadedFile("shot.png", PNG, content_type="image/png")},
    )
    assert response.status_code == 302
    html = Translation.objects.get(article=made, language="en").body_html
    assert 'src="/kb/files/' in html and "tracker.example" not in html
