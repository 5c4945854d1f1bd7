"""A card over the years: renew, reissue, move and rename (sandbox/lifecycle.py), their effect on
the state, the CRLs, the revocation feed and the card itself, and the mistakes they refuse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox import crl, feed, lifecycle, linkage, profiles
from sandbox.card import VirtualCard
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port
from sandbox.state import SandboxError, SandboxState
from tests.sandbox.card.commands import (
    data,
    digest_info,
    read_file,
    select_aid,
    select_ef,
    sign,
    sw,
    verify,
)

AUTH, SIGN = CertKind.AUTH, CertKind.SIGN
BIN = Path(sys.executable).parent / "jpki-sandbox"
NEW_ADDRESS = "大阪府大阪市北区梅田一丁目三番一号"


@pytest.fixture
def state(tmp_path) -> SandboxState:
    return SandboxState.init(tmp_path / "state", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def card(state) -> str:
    return state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123").id


def serial(state: SandboxState, card_id: str, kind: CertKind) -> int:
    return int(state.card(card_id).serials[kind], 16)


def crl_reason(published: bytes, number: int) -> x509.ReasonFlags | None:
    entry = x509.load_der_x509_crl(published).get_revoked_certificate_by_serial_number(number)
    if entry is None:
        return None
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


def san_facts(certificate: x509.Certificate) -> dict[str, str]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {profiles.OID_NAME: "name", profiles.OID_ADDRESS: "address"}
    facts = {}
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id in names:
            body = (
                other.value[2:]
                if other.value[1] < 0x80
                else other.value[2 + other.value[1] - 0x80 :]
            )
            facts[names[other.type_id]] = body.decode()
    return facts


def feed_tail(state: SandboxState, count: int) -> list[tuple[str, str, str, str]]:
    return [
        (e["cert_type"], e["serial"], e["status"], e["reason"])
        for e in feed.entries(state.root)[-count:]
    ]


def sandbox(state: SandboxState, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN), "--state", str(state.root), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


# --- renew -----------------------------------------------------------------------------------


def test_renew_writes_new_keys_and_certificates_and_revokes_the_old_as_superseded(state, card):
    before = state.card(card)
    old = {kind: serial(state, card, kind) for kind in CertKind}
    old_keys = {kind: state.private_key(card, kind).private_numbers() for kind in CertKind}
    base = {kind: crl.publish(state, kind, new_base=True) for kind in CertKind}

    done = lifecycle.renew(state, card, list(CertKind))

    after = state.card(card)
    assert [(d.kind, d.old_serial, d.new_serial) for d in done] == [
        (kind, old[kind], serial(state, card, kind)) for kind in CertKind
    ]
    assert after.pin_hashes == before.pin_hashes
    assert after.tries_left == before.tries_left
    for kind in CertKind:
        new = serial(state, card, kind)
        assert new != old[kind]
        assert state.certificate(card, kind).serial_number == new
        assert state.private_key(card, kind).private_numbers() != old_keys[kind]
        assert state.private_key(card, kind).public_key().public_numbers() == (
            state.certificate(card, kind).public_key().public_numbers()
        )
        registry = state.registry(kind)
        assert (registry[old[kind]].status, registry[old[kind]].reason) == ("revoked", "superseded")
        assert registry[new].status == "good"
        assert registry[new].card == card
        kept = state.card_dir(card) / "replaced" / f"{kind}-{old[kind]:X}.pem"
        assert x509.load_pem_x509_certificate(kept.read_bytes()).serial_number == old[kind]
        published = crl.publish(state, kind)
        assert published.full_number > base[kind].delta_number
        for der in (published.full, published.delta):
            assert crl_reason(der, old[kind]) is x509.ReasonFlags.superseded
            assert crl_reason(der, new) is None
    assert san_facts(state.certificate(card, SIGN)) == {
        "name": SAMPLE_CITIZENS[0].name,
        "address": SAMPLE_CITIZENS[0].address,
    }
    assert feed_tail(state, 2) == [
        ("auth", f"{old[AUTH]:X}", "revoked", "superseded"),
        ("sign", f"{old[SIGN]:X}", "revoked", "superseded"),
    ]


def test_renew_one_certificate_leaves_the_other(state, card):
    sign_before = serial(state, card, SIGN)
    lifecycle.renew(state, card, [AUTH])
    assert serial(state, card, SIGN) == sign_before
    assert state.registry(SIGN)[sign_before].status == "good"
    assert len(feed.entries(state.root)) == 1


def test_the_card_answers_with_the_renewed_certificate_and_key(state, card):
    lifecycle.renew(state, card, list(CertKind))
    virtual = VirtualCard.from_state(state, card)
    virtual.transmit(select_aid())
    virtual.transmit(select_ef(0x000A))
    der = read_file(virtual.transmit)
    certificate = state.certificate(card, AUTH)
    assert der == certificate.public_bytes(serialization.Encoding.DER)
    virtual.transmit(select_ef(0x0018))
    assert sw(virtual.transmit(verify("1234"))) == "9000"  # the PIN stayed
    virtual.transmit(select_ef(0x0017))
    response = virtual.transmit(sign(digest_info(b"challenge")))
    assert sw(response) == "9000"
    certificate.public_key().verify(  # type: ignore[call-arg]
        data(response), b"challenge", padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.parametrize("status", ["revoked", "hold"])
def test_renew_refuses_a_certificate_that_is_not_good_and_changes_nothing(state, card, status):
    if status == "revoked":
        state.revoke(card, AUTH, "keyCompromise")
    else:
        state.hold(card, AUTH)
    before = state.card(card)
    entries = len(feed.entries(state.root))
    with pytest.raises(SandboxError, match=f"auth certificate of card {card} is {status}"):
        lifecycle.renew(state, card, list(CertKind))
    assert state.card(card) == before
    assert len(feed.entries(state.root)) == entries


def test_renew_of_an_unknown_card_is_a_clear_error(state):
    with pytest.raises(SandboxError, match="unknown card"):
        lifecycle.renew(state, "deadbeef0000", [AUTH])


# --- reissue ---------------------------------------------------------------------------------


def test_reissue_makes_a_new_card_for_the_same_citizen_and_revokes_the_old(state, card):
    old = state.card(card)
    new, done = lifecycle.reissue(state, card)
    assert new.id != card
    assert new.replaces == card
    assert state.card(card).replaced_by == new.id
    assert (new.name, new.address, new.birthdate, new.gender) == (
        old.name, old.address, old.birthdate, old.gender,
    )  # fmt: skip
    assert new.pin_hashes == old.pin_hashes
    for kind in CertKind:
        entry = state.registry(kind)[int(old.serials[kind], 16)]
        assert (entry.status, entry.reason) == ("revoked", "keyCompromise")
        assert state.registry(kind)[int(new.serials[kind], 16)].status == "good"
        assert crl_reason(crl.publish(state, kind).full, int(old.serials[kind], 16)) is (
            x509.ReasonFlags.key_compromise
        )
    assert [(d.old_card, d.new_card) for d in done] == [(card, new.id)] * 2
    assert san_facts(state.certificate(new.id, SIGN)) == san_facts(state.certificate(card, SIGN))
    assert feed_tail(state, 2) == [
        ("auth", old.serials["auth"], "revoked", "keyCompromise"),
        ("sign", old.serials["sign"], "revoked", "keyCompromise"),
    ]
    with pytest.raises(SandboxError, match=f"already reissued as card {new.id}"):
        lifecycle.reissue(state, card)
    with pytest.raises(SandboxError, match=f"reissued as card {new.id}"):
        lifecycle.renew(state, card, [AUTH])


def test_reissue_of_a_lost_card_already_revoked_revokes_only_what_is_left(state, card):
    state.revoke(card, AUTH, "keyCompromise")
    entries = len(feed.entries(state.root))
    lifecycle.reissue(state, card, "cessationOfOperation", auth_pin="9876")
    assert [e["cert_type"] for e in feed.entries(state.root)[entries:]] == ["sign"]
    assert state.registry(SIGN)[serial(state, card, SIGN)].reason == "cessationOfOperation"
    new = state.card(state.card(card).replaced_by)
    assert new.pin_matches(AUTH, "9876")
    assert new.pin_matches(SIGN, "ABC123")


def test_reissue_refuses_another_reason_and_a_bad_pin(state, card):
    with pytest.raises(SandboxError, match="keyCompromise, cessationOfOperation"):
        lifecycle.reissue(state, card, "superseded")
    with pytest.raises(SandboxError, match="4 digits"):
        lifecycle.reissue(state, card, auth_pin="12")
    assert state.card_ids() == [card]
    assert feed.entries(state.root) == []
    assert linkage.links(state.root) == []


# --- move and rename -------------------------------------------------------------------------


def test_move_replaces_only_the_signing_certificate(state, card):
    auth, old_sign = serial(state, card, AUTH), serial(state, card, SIGN)
    done = lifecycle.move(state, card, NEW_ADDRESS)
    assert (done.kind, done.old_serial, done.reason) == (SIGN, old_sign, "affiliationChanged")
    assert serial(state, card, AUTH) == auth
    assert state.registry(AUTH)[auth].status == "good"
    assert state.card(card).address == NEW_ADDRESS
    assert san_facts(state.certificate(card, SIGN))["address"] == NEW_ADDRESS
    assert (
        state.certificate(card, SIGN)
        .subject.get_attributes_for_oid(x509.oid.NameOID.LOCALITY_NAME)[1]
        .value
        == "大阪市"
    )
    published = crl.publish(state, SIGN, new_base=True)
    assert crl_reason(published.full, old_sign) is x509.ReasonFlags.affiliation_changed
    assert feed_tail(state, 1) == [("sign", f"{old_sign:X}", "revoked", "affiliationChanged")]


def test_rename_writes_the_new_name_and_keeps_the_address(state, card):
    old_sign = serial(state, card, SIGN)
    lifecycle.rename(state, card, "鈴木 花子")
    assert state.card(card).name == "鈴木\u3000花子"
    assert san_facts(state.certificate(card, SIGN)) == {
        "name": "鈴木\u3000花子",
        "address": SAMPLE_CITIZENS[0].address,
    }
    assert state.registry(SIGN)[old_sign].reason == "affiliationChanged"
    assert len(feed.entries(state.root)) == 1
    [link] = linkage.links(state.root)
    assert (link["cert_type"], link["old_serial"], link["event"]) == (
        "sign",
        f"{old_sign:X}",
        "rename",
    )
    assert link["new_serial"] == state.card(card).serials["sign"]


@pytest.mark.parametrize(
    ("change", "value", "message"),
    [
        ("move", "", "address is empty"),
        ("move", "   ", "address is empty"),
        ("move", "Somewhere 1-2-3", "prefecture"),
        ("move", SAMPLE_CITIZENS[0].address, "already has the address"),
        ("rename", "", "name is empty"),
        ("rename", SAMPLE_CITIZENS[0].name, "already has the name"),
    ],
)
def test_move_and_rename_refuse_bad_facts_and_change_nothing(state, card, change, value, message):
    before = state.card(card)
    certificate = state.certificate(card, SIGN)
    with pytest.raises(SandboxError, match=message):
        getattr(lifecycle, change)(state, card, value)
    assert state.card(card) == before
    assert state.certificate(card, SIGN) == certificate
    assert feed.entries(state.root) == []


def test_move_refuses_a_revoked_signing_certificate(state, card):
    state.revoke(card, SIGN, "affiliationChanged")
    with pytest.raises(SandboxError, match=r"sign certificate of card .* is revoked"):
        lifecycle.move(state, card, NEW_ADDRESS)


# --- the command line ------------------------------------------------------------------------


def test_cli_renew_reissue_move_rename(state, card):
    result = sandbox(state, "renew", card, "--cert", "sign")
    assert result.returncode == 0, result.stderr
    assert "superseded" in result.stdout
    assert len(result.stdout.splitlines()) == 1
    result = sandbox(state, "move", card, "--address", NEW_ADDRESS)
    assert result.returncode == 0, result.stderr
    assert "affiliationChanged" in result.stdout
    result = sandbox(state, "rename", card, "--name", "山田 太郎")
    assert result.returncode == 0, result.stderr
    result = sandbox(state, "reissue", card, "--reason", "cessationOfOperation")
    assert result.returncode == 0, result.stderr
    new = result.stdout.strip().splitlines()[-1]
    assert state.card(new).replaces == card
    lines = [json.loads(line) for line in sandbox(state, "list").stdout.splitlines()]
    statuses = {line["id"]: line["status"] for line in lines}
    assert statuses == {
        card: {"auth": "revoked", "sign": "revoked"},
        new: {"auth": "good", "sign": "good"},
    }
    assert {line["id"]: line["name"] for line in lines}[new] == "山田\u3000太郎"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("renew", "deadbeef0000"), "unknown card"),
        (("renew", "not-a-card"), "not a card id"),
        (("renew", "{card}", "--cert", "both2"), "Invalid value"),
        (("move", "{card}", "--address", ""), "address is empty"),
        (("move", "{card}"), "Missing option"),
        (("rename", "{card}", "--name", " "), "name is empty"),
        (("reissue", "{card}", "--reason", "superseded"), "Invalid value"),
    ],
)
def test_cli_refuses_bad_inputs_with_clear_errors(state, card, args, message):
    result = sandbox(state, *(arg.format(card=card) for arg in args))
    assert result.returncode != 0
    assert message in result.stderr
    assert feed.entries(state.root) == []
