"""The revocation feed's client: only a page signed by the configured key, made for this request,
with every entry well-formed, yields changes; anything else is refused whole."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idp.jpki.errors import ResponderUnavailable
from idp.jpki.feed import FeedClient, FeedRefused
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationFeedSettings
from idp.jpki.status import Status, issuer_hash_of
from idp.jpki.transport import HttpTransport
from sandbox import feed
from sandbox.profiles import CertKind

URL = "http://feed.example/feed"


class Page:
    """A transport answering the feed with whatever ``make(after, nonce)`` builds."""

    def __init__(self, make) -> None:
        self.make, self.urls = make, []

    def download(self, url, sink, timeout, max_bytes):  # noqa: ARG002
        self.urls.append(url)
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        sink.write(self.make(query["after"], query["nonce"]))


@pytest.fixture(scope="module")
def signer(state):
    return state.feed_signer()


def _entry(seq: int, **changes) -> dict:
    entry = {
        "seq": str(seq), "issuer": "CN=x", "issuer_hash": "ab" * 32, "serial": "0A1B",
        "cert_type": "auth", "status": "revoked", "reason": "keyCompromise",
        "changed_at": "2026-12-07T10:00:00+00:00",
    }  # fmt: skip
    entry.update(changes)
    return entry


def _payload(asked_after, asked_nonce, entries, **changes) -> dict:
    last = entries[-1]["seq"] if entries and isinstance(entries[-1], dict) else asked_after
    payload = {
        "iss": URL, "iat": int(dt.datetime.now(dt.UTC).timestamp()), "after": asked_after,
        "nonce": asked_nonce, "next": last, "has_more": False, "entries": entries,
    }  # fmt: skip
    payload.update(changes)
    return payload


def _client(signer, transport, page_size: int = 10) -> FeedClient:
    settings = RevocationFeedSettings(url=URL, certificate="unused", page_size=page_size)
    return FeedClient(settings, [signer.certificate], transport, max_skew=300)


def _serving(signer, entries=None, header=None, **changes):
    def make(after, nonce):
        listed = entries if entries is not None else [_entry(int(after) + 1)]
        return feed.sign_page(signer, _payload(after, nonce, listed, **changes), header=header)

    return Page(lambda after, nonce: make(after, nonce).encode())


def test_a_good_page_gives_its_changes_in_order(signer, now):
    entries = [_entry(5, serial="00ff", status="on_hold", reason="certificateHold"),
               _entry(6, cert_type="sign", reason="affiliationChanged")]  # fmt: skip
    transport = _serving(signer, entries)
    page = _client(signer, transport).fetch("4", now)
    assert (page.next, page.has_more) == ("6", False)
    first, second = page.changes
    assert (first.serial, first.status, first.reason, first.source) == (
        "FF", Status.ON_HOLD, "certificateHold", "feed")  # fmt: skip
    assert (second.kind, second.status, second.reason) == (
        CertificateType.SIGN, Status.REVOKED, "affiliationChanged")  # fmt: skip
    assert first.changed_at == dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    assert "after=4&limit=10&nonce=" in transport.urls[0]


def test_the_live_sandbox_feed_is_read_page_by_page(state, server, cards, now):
    settings = JpkiSettings(
        revocation_feed=RevocationFeedSettings(
            url=server.feed_url, certificate=str(state.feed_certificate_path()), page_size=1
        )
    )
    client = FeedClient.from_settings(settings, HttpTransport())
    first = client.fetch("0", now)
    assert (first.next, first.has_more, len(first.changes)) == ("1", True, 1)
    change = first.changes[0]
    assert change.issuer_hash == issuer_hash_of(state.ca(CertKind.AUTH).certificate.subject)
    assert change.serial == cards.revoked.serials["auth"]
    assert (change.status, change.reason) == (Status.REVOKED, "keyCompromise")
    second = client.fetch(first.next, now)
    assert second.changes[0].serial == cards.revoked.serials["sign"]
    assert second.changes[0].status == Status.ON_HOLD


def test_a_page_signed_by_another_key_is_refused(signer, foreign_ca, now):
    forged = feed.make_feed_signer(foreign_ca.root, now=now)
    with pytest.raises(FeedRefused, match="not configured"):
        _client(signer, _serving(forged)).fetch("0", now)
    named = {"x5t#S256": feed.thumbprint(signer.certificate)}  # claims the real certificate
    with pytest.raises(FeedRefused, match="bad signature"):
        _client(signer, _serving(forged, header=named)).fetch("0", now)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"jku": "http://evil.example"}, "header"),
        ({"x5t#S256": "AAAA"}, "not config"),
    ],
)
def test_a_mis_signed_page_is_refused(signer, now, header, match):
    with pytest.raises(FeedRefused, match=match):
        _client(signer, _serving(signer, header=header)).fetch("0", now)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
def test_an_unsigned_or_hmac_page_is_refused(signer, now, algorithm):
    """``none``, and HS256 keyed with the feed's public key (the classic confusion)."""
    public = signer.certificate.public_bytes(serialization.Encoding.PEM)
    thumbprint = feed.thumbprint(signer.certificate)

    def page(after, nonce):
        head = {"alg": algorithm, "typ": feed.PAGE_TYPE, "x5t#S256": thumbprint}
        signed = (
            _b64(json.dumps(head).encode())
            + b"."
            + _b64(json.dumps(_payload(after, nonce, [])).encode())
        )
        mac = hmac.new(public, signed, hashlib.sha256).digest() if algorithm == "HS256" else b""
        return signed + b"." + _b64(mac)

    with pytest.raises(FeedRefused, match="algorithm"):
        _client(signer, Page(page)).fetch("0", now)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"after": "3"}, "another cursor"),
        ({"nonce": "recorded"}, "nonce"),
        ({"iat": int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())}, "iat"),
    ],
)
def test_a_replayed_page_is_refused(signer, now, changes, match):
    with pytest.raises(FeedRefused, match=match):
        _client(signer, _serving(signer, **changes)).fetch("0", now)


@pytest.mark.parametrize(
    ("entries", "changes", "match"),
    [
        ([_entry(1, serial="xyz")], {}, "serial"),
        ([_entry(1, status="lost")], {}, "bad value"),
        ([_entry(1, cert_type="card")], {}, "bad value"),
        ([_entry(1, reason="stolen")], {}, "reason"),
        ([_entry(1, issuer_hash="AB" * 32)], {}, "issuer_hash"),
        ([_entry(1, changed_at="2026-12-07T10:00:00")], {}, "time zone"),
        ([{k: v for k, v in _entry(1).items() if k != "serial"}], {}, "lacks"),
        ([_entry(2), _entry(1)], {"next": "1"}, "out of order"),
        ([_entry(0)], {}, "after the cursor"),
        ([_entry(1)], {"next": "7"}, "next does not follow"),
        ([], {"has_more": True}, "next does not follow"),
        ([_entry(n) for n in range(1, 12)], {}, "more entries"),
        ([_entry(1)], {"has_more": "no"}, "has_more"),
        (["entry"], {"next": "1"}, "not an object"),
    ],
)
def test_a_malformed_page_is_refused_whole(signer, now, entries, changes, match):
    with pytest.raises(FeedRefused, match=match):
        _client(signer, _serving(signer, entries, **changes)).fetch("0", now)


@pytest.mark.parametrize("body", [b"", b"not a jws", b"\xff\xfe", b"a.b.c", b"W10.e30.x"])
def test_garbage_is_refused(signer, now, body):
    with pytest.raises(FeedRefused):
        _client(signer, Page(lambda *_: body)).fetch("0", now)


def test_an_expired_feed_certificate_is_refused(signer, now):
    with pytest.raises(FeedRefused, match="not valid now"):
        _client(signer, _serving(signer)).fetch("0", now + dt.timedelta(days=400))


def test_a_feed_that_is_down_is_unavailable(state, server, now):
    client = _client(state.feed_signer(), HttpTransport())
    client.settings = RevocationFeedSettings(url=f"{server.base_url}/nowhere", timeout=2)
    with pytest.raises(ResponderUnavailable):
        client.fetch("0", now)


def test_a_cursor_that_is_not_ours_is_refused_before_asking(signer, now):
    transport = _serving(signer)
    with pytest.raises(FeedRefused):
        _client(signer, transport).fetch("1&limit=99999", now)
    assert transport.urls == []


def test_configuration_names_the_certificate(tmp_path, signer):
    assert FeedClient.from_settings(JpkiSettings(), HttpTransport()) is None
    missing = RevocationFeedSettings(url=URL, certificate=str(tmp_path / "none.pem"))
    with pytest.raises(ValueError, match="certificate"):
        FeedClient.from_settings(JpkiSettings(revocation_feed=missing), HttpTransport())
    with pytest.raises(ValueError, match="needs certificate"):
        FeedClient.from_settings(
            JpkiSettings(revocation_feed=RevocationFeedSettings(url=URL)), HttpTransport()
        )
    assert isinstance(signer.certificate, x509.Certificate)
