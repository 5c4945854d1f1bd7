"""The sandbox's linkage record (sandbox/linkage.py): which serial replaced which, for the same
holder and certificate type, answered over HTTP as a JWS signed by the feed certificate."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from joserfc import jws
from joserfc.jwk import RSAKey

from sandbox import feed, lifecycle, linkage
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState

AUTH, SIGN = CertKind.AUTH, CertKind.SIGN


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Card A renewed twice then reissued (as card B) and moved; card C lost and not reissued;
    card D untouched."""
    state = SandboxState.init(tmp_path_factory.mktemp("linkage"), f"http://127.0.0.1:{free_port()}")
    cards = {name: state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123") for name in "ACD"}
    serials = {"A0": dict(cards["A"].serials)}
    lifecycle.renew(state, cards["A"].id, [AUTH])
    serials["A1"] = dict(state.card(cards["A"].id).serials)
    lifecycle.renew(state, cards["A"].id, list(CertKind))
    serials["A2"] = dict(state.card(cards["A"].id).serials)
    b, _ = lifecycle.reissue(state, cards["A"].id)
    lifecycle.move(state, b.id, "大阪府大阪市北区梅田一丁目三番一号")
    serials["B"] = dict(state.card(b.id).serials)
    serials["C"] = dict(cards["C"].serials)
    serials["D"] = dict(cards["D"].serials)
    state.revoke(cards["C"].id, AUTH, "keyCompromise")
    with running_server(state) as server:
        yield state, serials, server


def ask(server, query: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(f"{server.linkage_url}?{query}", timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def verified(state: SandboxState, body: bytes) -> tuple[dict, dict]:
    certificate = x509.load_pem_x509_certificate(state.feed_certificate_path().read_bytes())
    token = jws.deserialize_compact(
        body.decode(), RSAKey.import_key(certificate.public_key()), algorithms=["RS256"]
    )
    return token.headers(), json.loads(token.payload)


def test_an_old_auth_serial_leads_through_renewals_and_a_reissue_to_the_new_card(world):
    state, serials, server = world
    status, content_type, body = ask(server, f"serial={serials['A0']['auth']}&type=auth&nonce=n1")
    assert (status, content_type) == (200, "application/jose")
    header, answer = verified(state, body)
    assert header["typ"] == linkage.ANSWER_TYPE
    assert header["x5t#S256"] == feed.thumbprint(
        x509.load_pem_x509_certificate(state.feed_certificate_path().read_bytes())
    )
    assert answer["nonce"] == "n1"
    assert (answer["serial"], answer["cert_type"]) == (serials["A0"]["auth"], "auth")
    assert answer["current"] == [serials["B"]["auth"]]
    assert [
        (x["old_serial"], x["new_serial"], x["event"], x["reason"]) for x in answer["links"]
    ] == [
        (serials["A0"]["auth"], serials["A1"]["auth"], "renew", "superseded"),
        (serials["A1"]["auth"], serials["A2"]["auth"], "renew", "superseded"),
        (serials["A2"]["auth"], serials["B"]["auth"], "reissue", "keyCompromise"),
    ]
    issuer = state.ca(AUTH).certificate.subject
    assert answer["links"][0]["issuer"] == issuer.rfc4514_string()


def test_the_signing_chain_includes_the_move(world):
    state, serials, server = world
    _, answer = verified(state, ask(server, f"serial={serials['A1']['sign']}&type=sign")[2])
    assert [x["event"] for x in answer["links"]] == ["renew", "reissue", "move"]
    assert answer["current"] == [serials["B"]["sign"]]
    assert "nonce" not in answer


def test_a_current_serial_answers_itself_and_a_lost_one_answers_none(world):
    state, serials, server = world
    _, answer = verified(state, ask(server, f"serial={serials['D']['auth'].lower()}&type=auth")[2])
    assert (answer["links"], answer["current"]) == ([], [serials["D"]["auth"]])
    _, answer = verified(state, ask(server, f"serial={serials['C']['auth']}&type=auth")[2])
    assert (answer["links"], answer["current"]) == ([], [])


def test_the_record_holds_serials_not_cards_or_people(world):
    state, _, _ = world
    text = (linkage.linkage_dir(state.root) / "links.jsonl").read_text()
    assert len(linkage.links(state.root)) == 6
    for card_id in state.card_ids():
        assert card_id not in text
    assert SAMPLE_CITIZENS[0].name not in text
    assert "大阪" not in text


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("type=auth", 400, "invalid_request"),
        ("serial=XYZ&type=auth", 400, "invalid_request"),
        ("serial=1F&type=both", 400, "invalid_request"),
        ("serial=1F", 400, "invalid_request"),
        ("serial=1F&type=auth&nonce=a%20b", 400, "invalid_request"),
        ("serial=1F&type=auth", 404, "unknown_serial"),
        ("serial={sign}&type=auth", 404, "unknown_serial"),
    ],
)
def test_bad_and_unknown_requests_are_refused_in_json(world, query, status, error):
    _, serials, server = world
    code, content_type, body = ask(server, query.format(sign=serials["D"]["sign"]))
    assert (code, content_type) == (status, "application/json")
    assert json.loads(body)["error"] == error


def test_the_links_are_a_feed_in_signed_pages(world):
    state, serials, server = world
    with urllib.request.urlopen(f"{server.linkage_feed_url}?limit=4&nonce=f1", timeout=10) as r:  # noqa: S310 - loopback
        assert r.headers["Content-Type"] == "application/jose"
        header, page = verified(state, r.read())
    assert header["typ"] == linkage.FEED_TYPE
    assert (page["after"], page["next"], page["has_more"], page["nonce"]) == ("0", "4", True, "f1")
    assert page["entries"] == linkage.links(state.root)[:4]
    assert page["entries"][0]["old_serial"] == serials["A0"]["auth"]
    with urllib.request.urlopen(f"{server.linkage_feed_url}?after=4", timeout=10) as r:  # noqa: S310 - loopback
        _, rest = verified(state, r.read())
    assert ([e["seq"] for e in rest["entries"]], rest["has_more"]) == (["5", "6"], False)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.linkage_feed_url}?after=99", timeout=10)  # noqa: S310 - loopback
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"] == "invalid_request"
