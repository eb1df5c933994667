"""Reading the receiving server's verdict (RFC 8601 Authentication-Results, RFC 8617 ARC):
whose headers count, which of them, and what makes a sender verified."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from destek.mail.authres import (
    Verdict,
    aligned,
    header_list,
    parse,
    trusted_results,
    verdict_of,
)

AUTH = Path(__file__).parent / "fixtures" / "auth"
OURS = frozenset({"mx.destek.test"})


def verdict_for(
    name: str, sender: str = "customer@example.com", trusted: frozenset[str] = OURS
) -> str:
    raw = (AUTH / name).read_bytes()
    return verdict_of(trusted_results(header_list(raw), trusted), sender)


def test_the_rfc_8601_example_with_comments_and_properties_is_read() -> None:
    found = parse(
        "example.com (a comment; with a semicolon);\n"
        '  spf=pass (sender IP is 192.0.2.1) smtp.mailfrom="x@example.net";\n'
        '  dkim/1 = pass reason="good signature" header.d=example.net header.s=sel;\n'
        "  dmarc=fail (p=reject) header.from=example.org"
    )
    assert found is not None and found.authserv_id == "example.com"
    methods = [(r.method, r.result) for r in found.results]
    assert methods == [("spf", "pass"), ("dkim", "pass"), ("dmarc", "fail")]
    assert found.results[0].properties == {"smtp.mailfrom": "x@example.net"}
    assert found.results[1].properties["header.d"] == "example.net"


def test_a_header_that_says_none_and_an_arc_header_are_read() -> None:
    assert parse("mx.example.org 1; none") == parse("mx.example.org; none")
    none = parse("mx.example.org 1; none")
    assert none is not None and none.results == ()
    arc = parse("i=1; mx.google.com; dmarc=pass header.from=example.com", arc=True)
    assert arc is not None and arc.authserv_id == "mx.google.com"
    assert arc.results[0].result == "pass"
    assert parse("mx.google.com; dmarc=pass", arc=True) is None, "ARC starts with its instance"


def test_our_servers_verdict_counts_and_a_forged_pass_below_it_does_not() -> None:
    assert verdict_for("forged_reply_dmarc_fail.eml") == Verdict.FAILED
    assert verdict_for("reply_rspamd_pass.eml") == Verdict.VERIFIED


def test_a_header_from_a_server_we_do_not_trust_is_no_verdict_at_all() -> None:
    stranger = frozenset({"mx.elsewhere.test"})
    assert verdict_for("reply_rspamd_pass.eml", trusted=stranger) == Verdict.MISSING
    assert verdict_for("reply_no_verdict.eml") == Verdict.MISSING


def test_a_mailbox_at_a_provider_is_read_through_its_arc_results() -> None:
    assert verdict_for("reply_gmail_arc_pass.eml", trusted=frozenset({"mx.google.com"})) == (
        Verdict.VERIFIED
    )


def test_dmarc_for_another_domain_or_an_unaligned_spf_pass_is_not_a_pass() -> None:
    headers = [
        ("Authentication-Results", "mx.destek.test; dmarc=pass header.from=evil.example.net"),
        ("Authentication-Results", "mx.destek.test; spf=pass smtp.mailfrom=a@evil.example.net"),
    ]
    assert verdict_of(trusted_results(headers, OURS), "customer@example.com") == Verdict.FAILED
    aligned_spf = [
        ("Authentication-Results", "mx.destek.test; spf=pass smtp.mailfrom=bounce.example.com")
    ]
    assert verdict_of(trusted_results(aligned_spf, OURS), "customer@example.com") == (
        Verdict.VERIFIED
    )


def test_relaxed_alignment_never_joins_two_companies_under_one_country_suffix() -> None:
    assert aligned("mail.example.com", "example.com")
    assert aligned("example.com", "news.example.com")
    assert aligned("EXAMPLE.com.", "example.com")
    assert not aligned("evil.com.tr", "shop.com.tr")
    assert not aligned("com.tr", "shop.com.tr"), "a public suffix is nobody's domain"
    assert not aligned("co.uk", "bank.co.uk")
    assert not aligned("example.com", "example.org")
    assert not aligned("", "example.com")


def test_only_the_topmost_block_above_our_received_header_is_read() -> None:
    headers = [
        ("Authentication-Results", "mx.destek.test; dkim=fail header.d=example.com"),
        ("Received", "from evil by mx.destek.test"),
        ("Authentication-Results", "mx.destek.test; dmarc=pass header.from=example.com"),
    ]
    found = trusted_results(headers, OURS)
    assert found is not None and len(found) == 1
    assert verdict_of(found, "customer@example.com") == Verdict.FAILED


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.booleans())
def test_the_parser_never_raises_on_any_text(value: str, arc: bool) -> None:
    found = parse(value, arc=arc)
    if found is not None:
        verdict_of([found], "customer@example.com")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["dmarc", "dkim", "spf", "arc", "x", "(", ")", '"', "\\", ";", "=", "."]),
        max_size=60,
    ).map(" ".join)
)
def test_the_parser_never_raises_on_header_like_fragments(value: str) -> None:
    parse("mx.destek.test; " + value)
    verdict_of(trusted_results([("Authentication-Results", value)], OURS), "a@example.com")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_reading_the_headers_of_any_bytes_never_raises(raw: bytes) -> None:
    trusted_results(header_list(raw), OURS)
