"""The sandbox's revocation-notification feed: every change is an entry, served in signed pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from joserfc import jws
from joserfc.jwk import RSAKey

from sandbox import crl, feed
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A state of its own (the feed is append-only): one card held, released, then revoked."""
    state = SandboxState.init(tmp_path_factory.mktemp("feed"), f"http://127.0.0.1:{free_port()}")
    card = state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123")
    state.hold(card.id, CertKind.AUTH)
    state.release(card.id, CertKind.AUTH)
    state.revoke(card.id, CertKind.SIGN, "affiliationChanged")
    with running_server(state) as server:
        yield state, card, server


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def _verified(state: SandboxState, body: bytes) -> tuple[dict, dict]:
    certificate = x509.load_pem_x509_certificate(state.feed_certificate_path().read_bytes())
    token = jws.deserialize_compact(
        body.decode(), RSAKey.import_key(certificate.public_key()), algorithms=["RS256"]
    )
    return token.headers(), json.loads(token.payload)


def test_each_change_is_an_entry_with_issuer_serial_type_status_and_reason(world):
    state, card, _ = world
    entries = feed.entries(state.root)
    assert [(e["seq"], e["cert_type"], e["status"], e["reason"]) for e in entries] == [
        ("1", "auth", "on_hold", "certificateHold"),
        ("2", "auth", "released", "removeFromCRL"),
        ("3", "sign", "revoked", "affiliationChanged"),
    ]
    auth_issuer = state.ca(CertKind.AUTH).certificate.subject
    assert entries[0]["issuer_hash"] == hashlib.sha256(auth_issuer.public_bytes()).hexdigest()
    assert entries[0]["issuer"] == auth_issuer.rfc4514_string()
    assert entries[0]["serial"] == card.serials["auth"]
    assert entries[2]["serial"] == card.serials["sign"]
    assert all(dt.datetime.fromisoformat(e["changed_at"]).tzinfo for e in entries)


def test_pages_are_signed_by_the_feed_certificate_and_follow_the_cursor(world):
    state, _, server = world
    status, content_type, body = _get(f"{server.feed_url}?limit=2&nonce=abc")
    assert (status, content_type) == (200, "application/jose")
    header, page = _verified(state, body)
    assert header["typ"] == feed.PAGE_TYPE
    assert header["x5t#S256"] == feed.thumbprint(
        x509.load_pem_x509_certificate(state.feed_certificate_path().read_bytes())
    )
    assert (page["after"], page["next"], page["has_more"], page["nonce"]) == ("0", "2", True, "abc")
    assert [e["seq"] for e in page["entries"]] == ["1", "2"]
    assert abs(page["iat"] - dt.datetime.now(dt.UTC).timestamp()) < 60
    _, rest = _verified(state, _get(f"{server.feed_url}?after=2&limit=2")[2])
    assert (rest["after"], rest["next"], rest["has_more"]) == ("2", "3", False)
    assert [e["seq"] for e in rest["entries"]] == ["3"]
    _, empty = _verified(state, _get(f"{server.feed_url}?after=3")[2])
    assert (empty["next"], empty["has_more"], empty["entries"]) == ("3", False, [])


def test_the_feed_certificate_is_issued_by_the_authentication_ca(world):
    state, _, _ = world
    certificate = x509.load_pem_x509_certificate(state.feed_certificate_path().read_bytes())
    ca = state.ca(CertKind.AUTH).certificate
    assert certificate.issuer == ca.subject
    certificate.verify_directly_issued_by(ca)
    assert (state.root / "feed" / "feed.key.pem").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "query",
    ["after=abc", "after=-1", "after=99", "limit=0", "limit=1001", "limit=x", "nonce=a%20b"],
)
def test_bad_cursor_limit_or_nonce_is_a_400(world, query):
    _, _, server = world
    status, content_type, body = _get(f"{server.feed_url}?{query}")
    assert (status, content_type) == (400, "application/json")
    assert json.loads(body)["error"] == "invalid_request"


def test_the_http_service_publishes_the_crls_again_each_delta_interval(world):
    state, _, _ = world
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first = crl.publish(state, CertKind.AUTH, now=now, force=True)
    interval = dt.timedelta(seconds=15)
    same = crl.publish(state, CertKind.AUTH, now=now + interval / 2, delta_interval=interval)
    later = crl.publish(state, CertKind.AUTH, now=now + interval, delta_interval=interval)
    assert same.delta_number == first.delta_number
    assert later.delta_number > first.delta_number
    assert later.base_number == first.base_number
    assert dt.timedelta(seconds=30) >= crl.DELTA_INTERVAL  # within the IdP's 60 s, with a poll


def test_a_change_reaches_the_delta_crl_at_once(world, tmp_path):
    state, _, server = world
    card = state.issue_card(SAMPLE_CITIZENS[1], "1234", "ABC123")
    serial = int(card.serials["auth"], 16)
    state.hold(card.id, CertKind.AUTH)
    delta = x509.load_der_x509_crl(_get(server.crl_url("auth", delta=True))[2])
    entry = delta.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.certificate_hold
    )
    assert feed.entries(state.root)[-1]["serial"] == card.serials["auth"]
