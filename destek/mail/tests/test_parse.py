"""What a support agent notices in a parsed inbound mail: the text reads right, the files are
there with their names, the history is folded away but kept, nothing dangerous survives."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destek.mail.parse import (
    MAX_REFERENCES,
    ParsedMessage,
    Unparseable,
    decode_header_text,
    parse_message,
    parse_message_ids,
    split_quoted,
)

FIXTURES = Path(__file__).parent / "fixtures"
ALL_FIXTURES = sorted(FIXTURES.glob("*.eml"))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parsed(name: str) -> ParsedMessage:
    return parse_message(fixture(name))


# --- plain messages and charsets ------------------------------------------------------------


def test_plain_english_mail_reads_as_sent_with_sender_and_ids():
    msg = parsed("plain_utf8.eml")
    assert msg.subject == "Cannot download my April invoice"
    assert msg.sender.email == "sam.baker@example.com"  # lower-cased
    assert msg.sender.name == "Sam Baker"
    assert msg.message_id == "CAF3x9bQ1-2025060307141800@mail.example.com"
    assert msg.delivered_to == ("support@destek.example",)
    assert msg.text.startswith('Hello,\n\nThe "Download PDF" button')
    assert "\r" not in msg.text
    assert msg.quoted == ""
    assert msg.date == "Tue, 3 Jun 2025 07:14:18 +0200"
    assert msg.defects == ()


def test_azerbaijani_letters_survive_in_subject_name_and_text():
    msg = parsed("az_utf8.eml")
    assert msg.subject == "İnternet bağlantısı kəsilir"
    assert msg.sender.name == "Leyla Məmmədova"
    assert "Bakı şəhəri, Nəsimi rayonu, Şərifzadə küçəsi 14" in msg.text


def test_persian_keeps_its_zero_width_non_joiner_and_right_to_left_mark():
    msg = parsed("fa_qp_zwnj.eml")
    assert msg.subject == "مشکل در پرداخت\u200cهای آنلاین"
    assert "می\u200cخواهم اشتراک سالانه\u200cام" in msg.text
    assert "\u200fشماره سفارش: ۴۵۸۲۱" in msg.text
    assert msg.sender.name == "مریم احمدی"


@pytest.mark.parametrize(
    "name",
    ["ru_cp1251_8bit.eml", "ru_cp1251_base64.eml", "ru_koi8r_8bit.eml", "ru_koi8r_base64.eml"],
)
def test_russian_in_windows_1251_and_koi8_r_reads_as_russian(name):
    msg = parsed(name)
    assert msg.subject == "Двойное списание за июнь"
    assert msg.sender.name == "Игорь Волков"
    assert "счёт за июнь выставлен дважды" in msg.text
    assert msg.text.endswith("Игорь Сергеевич Волков")
    assert "\ufffd" not in msg.text


def test_turkish_in_iso_8859_9_keeps_dotted_and_dotless_i():
    msg = parsed("tr_iso8859_9.eml")
    assert msg.subject == "Arızalı modem değişimi"
    assert msg.sender.name == "Şükrü Yılmaz"
    assert "ışıklar yanıyor ama İnternet'e bağlanmıyor" in msg.text


def test_a_part_with_a_wrong_or_unknown_charset_still_reads():
    msg = parsed("wrong_charset.eml")
    # labelled utf-8 but written in windows-1251; labelled with a made-up name, in KOI8-R
    assert "Пароль не приходит на почту" in msg.text
    assert "Номер договора 7781." in msg.text
    assert "wrong-charset:utf-8" in msg.defects
    assert "unknown-charset:x-no-such-charset" in msg.defects


# --- headers --------------------------------------------------------------------------------


def test_encoded_words_in_b_and_q_mixed_with_plain_text_decode():
    msg = parsed("subject_rfc2047_mixed.eml")
    assert msg.subject.startswith("Re: [#104233] Sifariş #4471 - ödəniş")
    # the UTF-8 of "ə" is cut between two encoded words and still reads
    assert msg.subject.endswith("Hesab-faktura və qəbz")
    assert msg.sender == msg.sender.__class__("ayse.kaya@example.com.tr", "Ayşe Kaya")
    assert [a.email for a in msg.to] == ["support@destek.example", "mehmet.kaya@example.com.tr"]
    assert msg.to[0].name == "Служба поддержки"
    # an encoded comma inside a name does not split the address list
    assert [(a.email, a.name) for a in msg.cc] == [("ivanov@example.ru", "Иванов, Иван")]
    assert msg.in_reply_to == ("ticket-104233.r1.c2lnbmVk@destek.example",)
    assert msg.references == (
        "ticket-104233.n1@destek.example",
        "ticket-104233.r1.c2lnbmVk@destek.example",
    )


def test_broken_encoded_words_read_as_far_as_they_can_without_failing():
    msg = parsed("subject_rfc2047_broken.eml")
    assert "café" in msg.subject  # unknown charset: the bytes still read
    assert "Проблема с входом в" in msg.subject
    assert "unterminated" in msg.subject  # kept as sent rather than dropped
    assert "\n" not in msg.subject
    assert msg.sender.name == "Мария Петрова"  # base64 without its padding


def test_encoded_words_decode_with_unknown_charset_and_raw_8bit_bytes():
    assert decode_header_text("=?utf-8?Q?=D0=9F=D1=80=D0=B8?= =?utf-8?Q?=D0=B2?=") == "Прив"
    assert decode_header_text("=?x-bogus?B?Y2Fm6Q==?=") == "café"
    raw_1251 = "Счёт".encode("cp1251").decode("utf-8", "surrogateescape")
    assert decode_header_text(raw_1251, "windows-1251") == "Счёт"


def test_references_skip_junk_and_are_capped_keeping_the_first_and_newest():
    ids = "".join(f"<id{n}@example.com>\r\n\t" for n in range(120))
    raw = (
        "From: a@example.com\r\nSubject: long thread\r\nMessage-ID:  < spaced@example.com >\r\n"
        f"References: junk (comment) {ids}\r\nIn-Reply-To: <id119@example.com> (Sam's mail)\r\n"
        "\r\nbody\r\n"
    ).encode()
    msg = parse_message(raw)
    assert msg.message_id == "spaced@example.com"
    assert len(msg.references) == MAX_REFERENCES
    assert msg.references[0] == "id0@example.com"
    assert msg.references[-1] == "id119@example.com"
    assert msg.in_reply_to == ("id119@example.com",)
    assert parse_message_ids("no-brackets@example.com other") == ["no-brackets@example.com"]


def test_a_message_without_message_id_has_an_empty_id():
    msg = parsed("no_message_id.eml")
    assert msg.message_id == ""
    assert msg.text == "A message from an old script that sets no Message-ID."


def test_guard_headers_are_kept_lower_cased_and_decoded():
    msg = parsed("mailing_list.eml")
    assert msg.headers["list-id"] == "Hosting announcements <hosting-news.lists.hosting.example>"
    assert msg.headers["precedence"] == "list"
    assert msg.headers["list-unsubscribe"].startswith("<mailto:hosting-news-leave@")
    ooo = parsed("ooo_exchange.eml")
    assert ooo.headers["auto-submitted"] == "auto-generated"
    assert ooo.headers["x-auto-response-suppress"] == "All"
    assert parsed("dsn_permanent.eml").headers["return-path"] == "<>"
    assert parsed("bounce_exim.eml").headers["x-failed-recipients"] == "old.address@example.az"


# --- bodies, HTML and files -----------------------------------------------------------------


def test_multipart_alternative_prefers_the_plain_text_and_keeps_the_html():
    msg = parsed("alternative.eml")
    assert msg.text == "Which port should the VPN client use: 443 or 1194?\n\nElvin"
    assert "<b>VPN client</b>" in msg.html


def test_html_only_mail_loses_scripts_handlers_and_remote_images_but_keeps_the_cid_image():
    msg = parsed("html_dangerous_cid.eml")
    html = msg.html.lower()
    for danger in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "tracker.example",
        "<iframe",
        "<form",
        "<input",
        "<style",
        "evil.example",
        "hidden title",
    ):
        assert danger not in html, danger
    assert '<img src="cid:shot1@example.az" alt="error screenshot">' in msg.html
    assert 'rel="noopener noreferrer"' in msg.html
    assert "Hello, the payment page shows this error:" in msg.text
    assert "the status page <https://status.example.az/incident/42>" in msg.text
    assert "document.cookie" not in msg.text
    [image] = msg.parts
    assert (image.filename, image.content_type) == ("screenshot.png", "image/png")
    assert image.content_id == "shot1@example.az"
    assert image.inline is True
    assert image.payload.startswith(b"\x89PNG")


def test_rfc_2231_and_encoded_file_names_decode():
    msg = parsed("rfc2231_filename.eml")
    assert [p.filename for p in msg.parts] == [
        "Müqavilə № 17.pdf",
        "Отчёт за май 2025.xlsx",  # split over two continuations
        "Şikayət.txt",  # RFC 2047 in a quoted parameter, as Outlook sends
    ]
    assert msg.parts[0].payload.startswith(b"%PDF-1.4")
    assert msg.parts[2].payload.decode() == "Şikayətin mətni burada.\n"
    assert msg.text == "Müqavilə və hesabat əlavədədir."


def test_forwarded_message_is_kept_as_an_eml_file_named_after_its_subject():
    msg = parsed("forwarded_rfc822.eml")
    assert msg.text == "Is this invoice from you? It looks odd."
    [forwarded] = msg.parts
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename == "Ваш счёт № 2025 117.eml"  # "/" cannot be in a file name
    inner = parse_message(forwarded.payload)
    assert inner.sender.email == "billing@provider.example"
    assert inner.text == "Сумма к оплате: 1 200 ₽."


def test_winmail_dat_is_unpacked_into_its_files_and_gives_the_body():
    msg = parsed("winmail.eml")
    assert msg.subject == "Акт сверки"
    assert msg.sender.name == "Ольга Смирнова"
    assert [(p.filename, p.content_type) for p in msg.parts] == [
        ("Акт сверки май 2025.txt", "text/plain"),  # the long Unicode name, not AKTSVE~1.TXT
        ("DOGOVOR.CSV", "text/csv"),
    ]
    assert msg.parts[0].payload.decode("cp1251").startswith("Акт сверки взаимных расчётов")
    assert msg.text.startswith("Добрый день!\n\nВысылаю акт сверки за май")
    assert "winmail.dat" not in [p.filename for p in msg.parts]


def test_unreadable_winmail_dat_is_kept_whole():
    raw = (
        b"From: a@example.com\nSubject: tnef\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nhi\n'
        b'--b\nContent-Type: application/ms-tnef; name="winmail.dat"\n'
        b"Content-Transfer-Encoding: base64\n\n"
        + base64.b64encode(b"not tnef at all")
        + b"\n--b--\n"
    )
    msg = parse_message(raw)
    [part] = msg.parts
    assert (part.filename, part.payload) == ("winmail.dat", b"not tnef at all")
    assert "unreadable-tnef" in msg.defects


def test_bounce_reports_keep_their_parts():
    msg = parsed("dsn_permanent.eml")
    assert [p.content_type for p in msg.parts] == ["message/delivery-status", "text/rfc822-headers"]
    assert b"Status: 5.1.1" in msg.parts[0].payload


# --- broken messages ------------------------------------------------------------------------


def test_missing_closing_boundary_keeps_text_and_attachment():
    msg = parsed("broken_boundary.eml")
    assert msg.text == "The scan of my passport is attached."
    [scan] = msg.parts
    assert scan.filename == "passport.jpg"
    assert scan.payload.startswith(b"\xff\xd8")
    assert "CloseBoundaryNotFoundDefect" in msg.defects


def test_mixed_line_endings_and_nul_bytes_read_cleanly():
    msg = parsed("bare_lf_mixed.eml")
    assert msg.text == "First line\nsecond line\nthird line"
    assert msg.subject == "Line endings"
    assert "mixed-line-endings" in msg.defects
    nul = parsed("nul_bytes.eml")
    assert nul.subject == "Nul bytes"
    assert nul.text == "Hello world\nSecond line"
    assert "nul-bytes" in nul.defects


def test_a_part_that_cannot_be_decoded_is_kept_with_its_raw_payload():
    raw = (
        b'From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nsee file\n--b\n"
        b'Content-Type: application/pdf; name="scan.pdf"\nContent-Transfer-Encoding: x-weird\n\n'
        b"%PDF raw bytes\n--b--\n"
    )
    msg = parse_message(raw)
    [pdf] = msg.parts
    assert pdf.filename == "scan.pdf"
    assert b"%PDF raw bytes" in pdf.payload


def test_a_zero_byte_message_is_unparseable():
    with pytest.raises(Unparseable):
        parse_message(fixture("empty.eml"))
    with pytest.raises(Unparseable):
        parse_message(b"   \r\n\r\n")


def test_bytes_without_any_header_are_unparseable():
    with pytest.raises(Unparseable):
        parse_message(b"just some words\nand more words\n")


def test_a_header_only_message_parses_with_empty_text():
    msg = parsed("headers_only.eml")
    assert msg.subject == "Just a subject"
    assert (msg.text, msg.quoted, msg.html, msg.parts) == ("", "", "", ())


def test_a_message_without_from_has_an_empty_sender_and_says_so():
    msg = parse_message(b"Subject: hello\n\nbody\n")
    assert msg.sender.email == ""
    assert "no-from" in msg.defects


# --- quoted history -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "new_text", "history_starts"),
    [
        (
            "reply_en.eml",
            "It works now, thank you!\n\n-- \nSam Baker\nExample Ltd.",
            "On Wed, 11 Jun 2025 at 17:02, Destek Support",
        ),
        ("reply_az.eml", "Təşəkkür edirəm, indi bağlantı stabildir.", "Ç.a., 11 iyn 2025"),
        ("reply_ru.eml", "Спасибо, деньги вернулись.", '11.06.2025, 17:02, "Служба поддержки'),
        ("reply_tr.eml", "Yeni modem geldi, her şey çalışıyor. Teşekkürler!", "Destek <destek@"),
        ("reply_fa.eml", "ممنون، پرداخت انجام شد.", "\u200fدر تاریخ چهارشنبه"),
        (
            "reply_outlook.eml",
            'Hi,\n\nI still get "Access denied" on the Reports page. '
            "Screenshot attached earlier.\n\nOlga",
            "________________________________\nFrom: ",
        ),
        (
            "reply_outlook_original.eml",
            "Yes, the printer is the HP LaserJet on the 3rd floor.",
            "-----Original Message-----\nFrom: Destek Support",
        ),
    ],
)
def test_replies_show_the_new_text_and_fold_the_quoted_history(name, new_text, history_starts):
    msg = parsed(name)
    assert msg.text == new_text
    assert msg.quoted.startswith(history_starts)


def test_quoted_history_is_kept_whole():
    msg = parsed("reply_ru.eml")
    assert msg.quoted.endswith("> Мы вернули 1 200 руб. на вашу карту.")


def test_an_answer_written_below_the_quote_stays_in_the_text():
    body = "On Mon, 2 Jun 2025, Destek <s@destek.example> wrote:\n> which port?\n\n443, thanks."
    assert split_quoted(body) == (body, "")
    inline = "Hello\n> question one\nanswer one\n> question two\nanswer two"
    assert split_quoted(inline) == (inline, "")


def test_a_trailing_quote_without_attribution_is_history():
    assert split_quoted("Thanks!\n\n> old text\n> more") == ("Thanks!", "> old text\n> more")


def test_lines_that_only_mention_a_reply_header_stay_in_the_text():
    body = "From: the billing page I can't pay.\nThe form said I wrote: nothing\nBye"
    assert split_quoted(body) == (body, "")


def test_gmail_html_reply_folds_the_blockquote():
    raw = (
        "From: a@example.az\nSubject: Re: x\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        '<div dir="ltr">Bəli, işləyir.</div><br><div class="gmail_quote"><div dir="ltr" '
        'class="gmail_attr">On Mon, 2 Jun 2025 at 10:00, Destek &lt;s@destek.example&gt; '
        'wrote:<br></div><blockquote class="gmail_quote">Yoxlayın, zəhmət olmasa.</blockquote>'
        "</div>\n"
    ).encode()
    msg = parse_message(raw)
    assert msg.text == "Bəli, işləyir."
    assert msg.quoted.endswith("> Yoxlayın, zəhmət olmasa.")


def _content_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


quote_lines = st.sampled_from(
    [
        "> quoted",
        ">",
        "",
        "-- ",
        "On Mon, 2 Jun 2025 at 10:00, A <a@b.example> wrote:",
        "2 iyn 2025 tarixində A <a@b.az> yazdı:",
        "Иван <i@b.ru> написал(а):",
        "A <a@b.tr>, 2 Haz 2025 tarihinde şunu yazdı:",
        "در تاریخ ۲ ژوئن A <a@b.ir> نوشت:",
        "-----Original Message-----",
        "From: A <a@b.example>",
        "Sent: Monday",
        "To: B",
        "_" * 32,
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(quote_lines, st.text(max_size=40).map(lambda s: s.replace("\n", " ")))))
def test_splitting_quoted_history_never_loses_a_line(lines):
    body = "\n".join(lines)
    text, quoted = split_quoted(body)
    assert _content_lines(text) + _content_lines(quoted) == _content_lines(body)


# --- robustness -----------------------------------------------------------------------------


def _parses_or_unparseable(raw: bytes) -> None:
    try:
        msg = parse_message(raw)
    except Unparseable:
        return
    assert isinstance(msg, ParsedMessage)
    assert isinstance(msg.text, str) and "\x00" not in msg.text


@pytest.mark.parametrize(
    "path",
    [p for p in ALL_FIXTURES if p.name != "empty.eml"],  # 0 bytes: covered above
    ids=lambda p: p.name,
)
def test_every_fixture_parses_without_losing_its_files(path):
    raw = path.read_bytes()
    msg = parse_message(raw)
    for part in msg.parts:
        assert part.filename
        assert "/" not in part.filename


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_parse_or_are_unparseable(raw):
    _parses_or_unparseable(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([p for p in ALL_FIXTURES if p.stat().st_size]),
    st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.sampled_from(["flip", "cut", "insert", "delete"]),
            st.binary(min_size=1, max_size=12),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_randomly_mutated_fixtures_parse_or_are_unparseable(path, mutations):
    data = bytearray(path.read_bytes())
    for where, how, chunk in mutations:
        if not data:
            break
        at = int(where * len(data))
        if how == "flip":
            data[at] ^= chunk[0]
        elif how == "cut":
            del data[at:]
        elif how == "insert":
            data[at:at] = chunk
        else:
            del data[at : at + len(chunk) * 8]
    _parses_or_unparseable(bytes(data))


@pytest.mark.parametrize(
    "raw",
    [
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        + b'--b\nContent-Type: multipart/mixed; boundary="b"\n\n' * 300,
        b"Subject: =?utf-7?B?K2FBQT0t?= =?utf-7?Q?+2D3/-?=\n"
        b"Content-Type: text/plain; charset=utf-7\n\n+2D3/-",
        b'From: "unclosed <a@b\nTo: ,,,@,<>\nCc: =?utf-8?B?IiI=?= <>\nSubject: x\n\n',
        b"Content-Type: message/rfc822\n\n",
        b"Content-Type: text/plain; charset*=''%ff%fe\n"
        b"Content-Disposition: attachment; filename*=bogus''%zz\n\nx",
        b"Subject: x\nContent-Type: text/html\n\n<p>" + b"<b>" * 5000,
    ],
    ids=["nested-boundaries", "utf7", "broken-addresses", "empty-rfc822", "bad-2231", "deep-html"],
)
def test_hostile_shapes_parse_or_are_unparseable(raw):
    _parses_or_unparseable(raw)
