"""Addresses in what people wrote become links; nothing they wrote becomes markup."""

from __future__ import annotations

from destek.lib.bidi import linked_text


def test_a_web_address_in_a_message_becomes_a_link_that_opens_apart() -> None:
    html = linked_text("See https://example.com/guide?x=1&y=2 please")
    assert (
        '<a href="https://example.com/guide?x=1&amp;y=2" rel="nofollow ugc noopener noreferrer"'
        ' target="_blank">https://example.com/guide?x=1&amp;y=2</a>'
    ) in html


def test_a_mail_address_becomes_a_mailto_link() -> None:
    assert 'href="mailto:aysel@example.az"' in linked_text("Write to aysel@example.az")


def test_script_and_javascript_links_stay_text() -> None:
    html = linked_text('<script>alert(1)</script> javascript:alert(1) <a href="x">y</a>')
    assert "<script>" not in html and "<a href" not in html
    assert "&lt;script&gt;" in html and "javascript:alert(1)" in html


def test_a_quote_in_an_address_cannot_break_out_of_the_link() -> None:
    html = linked_text('http://example.com/"onmouseover="alert(1)')
    assert 'onmouseover="' not in html


def test_a_long_address_is_shortened_in_the_text_not_in_the_link() -> None:
    url = "https://example.com/" + "a" * 200
    html = linked_text(url)
    assert f'href="{url}"' in html and html.count("a" * 200) == 1


def test_a_link_in_persian_text_keeps_its_direction() -> None:
    html = linked_text("راهنما را ببینید: https://example.com/fa")
    assert 'href="https://example.com/fa"' in html
    assert "<bdi>https://example.com/fa</bdi>" in html
