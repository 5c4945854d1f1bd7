"""CRLs: the factory, full and delta CRLs published from the registry, and very large CRLs."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from sandbox import crl, pki
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.state import RegistryEntry, SandboxState
from tests.sandbox.revocation_helpers import crl_verifies, openssl, write_pem

NOW = dt.datetime(2026, 4, 1, 3, 0, 0, tzinfo=dt.UTC)
AUTH = CertKind.AUTH


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    return SandboxState.init(tmp_path_factory.mktemp("crl"), "http://127.0.0.1:8002")


@pytest.fixture(scope="module")
def ca(state: SandboxState) -> pki.CertificateAuthority:
    return state.ca(AUTH)


@pytest.fixture(scope="module")
def ca_pem(state: SandboxState) -> Path:
    return state.root / "ca" / "auth" / "ca.pem"


@pytest.fixture(scope="module")
def impostor() -> pki.CertificateAuthority:
    """Same name as the real authentication CA, another key."""
    return pki.make_ca(AUTH, now=NOW)


def parse(der: bytes) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(der)


def reason_of(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return None


def number_of(crl_: x509.CertificateRevocationList) -> int:
    return crl_.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def delta_base_of(crl_: x509.CertificateRevocationList) -> int | None:
    try:
        return crl_.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value.crl_number
    except x509.ExtensionNotFound:
        return None


ENTRIES = [
    crl.CrlEntry(10, NOW - dt.timedelta(days=3), x509.ReasonFlags.affiliation_changed),
    crl.CrlEntry(11, NOW - dt.timedelta(days=2), x509.ReasonFlags.certificate_hold),
    crl.CrlEntry(12, NOW - dt.timedelta(days=1), None, NOW - dt.timedelta(days=5)),
]


# --- the factory -------------------------------------------------------------------------------


def test_make_crl_lists_entries_with_reasons(ca, ca_pem, tmp_path) -> None:
    der = crl.make_crl(
        ca,
        ENTRIES,
        number=7,
        this_update=NOW,
        distribution_point="http://x/auth.crl",
        freshest_crl="http://x/auth-delta.crl",
    )
    parsed = parse(der)
    assert crl_verifies(der, ca_pem, tmp_path)
    assert parsed.is_signature_valid(ca.certificate.public_key())
    assert parsed.issuer == ca.certificate.subject
    assert number_of(parsed) == 7
    assert delta_base_of(parsed) is None
    assert parsed.last_update_utc == NOW
    assert parsed.next_update_utc == NOW + crl.FULL_VALIDITY
    assert {e.serial_number: reason_of(e) for e in parsed} == {
        10: x509.ReasonFlags.affiliation_changed,
        11: x509.ReasonFlags.certificate_hold,
        12: None,
    }
    assert (
        parsed.get_revoked_certificate_by_serial_number(10).revocation_date_utc
        == ENTRIES[0].revoked_at
    )
    idp = parsed.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical
    assert idp.value.full_name == [x509.UniformResourceIdentifier("http://x/auth.crl")]
    freshest = parsed.extensions.get_extension_for_class(x509.FreshestCRL).value
    assert freshest[0].full_name == [x509.UniformResourceIdentifier("http://x/auth-delta.crl")]
    aki = parsed.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_make_crl_delta_carries_the_base_number_and_remove_from_crl(ca, ca_pem, tmp_path) -> None:
    removal = crl.CrlEntry(11, NOW, x509.ReasonFlags.remove_from_crl)
    der = crl.make_crl(ca, [removal], number=9, delta_base=7, this_update=NOW)
    parsed = parse(der)
    assert crl_verifies(der, ca_pem, tmp_path)
    indicator = parsed.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical
    assert indicator.value.crl_number == 7
    assert [reason_of(e) for e in parsed] == [x509.ReasonFlags.remove_from_crl]


def test_forged_crl_fails_verification(ca, ca_pem, impostor, tmp_path) -> None:
    der = crl.make_crl(ca, ENTRIES, signer=impostor.root)
    assert parse(der).issuer == ca.certificate.subject
    assert not parse(der).is_signature_valid(ca.certificate.public_key())
    assert not crl_verifies(der, ca_pem, tmp_path)


def test_crl_of_another_issuer_fails_verification(state, ca, ca_pem, tmp_path) -> None:
    der = crl.make_crl(state.ca(CertKind.SIGN), ENTRIES)
    assert parse(der).issuer != ca.certificate.subject
    assert not crl_verifies(der, ca_pem, tmp_path)


def test_expired_and_older_crls_are_still_well_signed(ca, ca_pem, tmp_path) -> None:
    expired = crl.make_crl(
        ca, ENTRIES, this_update=NOW - dt.timedelta(days=2), next_update=NOW - dt.timedelta(days=1)
    )
    assert parse(expired).next_update_utc < NOW
    assert crl_verifies(expired, ca_pem, tmp_path)
    older = crl.reissue(ca, crl.make_crl(ca, ENTRIES, number=50), number=49)
    assert number_of(parse(older)) == 49
    assert len(parse(older)) == len(ENTRIES)


def test_reissue_keeps_everything_but_what_it_is_told(ca, impostor) -> None:
    original = crl.make_crl(
        ca, ENTRIES, number=8, delta_base=5, this_update=NOW, distribution_point="http://x/a.crl"
    )
    copy = parse(crl.reissue(ca, original, signer=impostor.root))
    assert number_of(copy) == 8
    assert delta_base_of(copy) == 5
    assert copy.last_update_utc == NOW
    assert [(e.serial_number, reason_of(e)) for e in copy] == [
        (e.serial_number, reason_of(e)) for e in parse(original)
    ]
    assert copy.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert not copy.is_signature_valid(ca.certificate.public_key())


# --- from the registry -------------------------------------------------------------------------


def test_registry_entries_skip_good_and_expired_certificates() -> None:
    future, past = (
        (NOW + dt.timedelta(days=30)).isoformat(),
        (NOW - dt.timedelta(days=1)).isoformat(),
    )
    at = (NOW - dt.timedelta(hours=1)).isoformat()
    registry = {
        1: RegistryEntry("a", future),
        2: RegistryEntry("b", future, "revoked", at, "superseded"),
        3: RegistryEntry("c", past, "revoked", at, "superseded"),
        4: RegistryEntry("d", future, "hold", at, "certificateHold"),
        5: RegistryEntry("e", future, "revoked", at, "unspecified"),
    }
    listed = crl.registry_entries(registry, now=NOW)
    assert {serial: entry.reason for serial, entry in listed.items()} == {
        2: x509.ReasonFlags.superseded,
        4: x509.ReasonFlags.certificate_hold,
        5: None,
    }


def test_delta_entries_list_changes_and_removals() -> None:
    at = NOW - dt.timedelta(hours=1)
    base = {
        1: crl.CrlEntry(1, at, x509.ReasonFlags.certificate_hold),
        2: crl.CrlEntry(2, at, x509.ReasonFlags.certificate_hold),
        3: crl.CrlEntry(3, at, x509.ReasonFlags.superseded),
    }
    current = {
        2: crl.CrlEntry(2, NOW, x509.ReasonFlags.key_compromise),  # hold made final
        3: base[3],
        4: crl.CrlEntry(4, NOW, x509.ReasonFlags.affiliation_changed),
    }
    changes = crl.delta_entries(base, current)
    assert [(e.serial, e.reason) for e in changes] == [
        (2, x509.ReasonFlags.key_compromise),
        (4, x509.ReasonFlags.affiliation_changed),
        (1, x509.ReasonFlags.remove_from_crl),
    ]


@pytest.fixture(scope="module")
def cards(state: SandboxState) -> list[str]:
    return [state.issue_card(citizen, "1234", "ABC123").id for citizen in SAMPLE_CITIZENS[:3]]


def serial(state: SandboxState, card: str) -> int:
    return state.certificate(card, AUTH).serial_number


def test_publish_writes_full_and_delta_and_numbers_them_in_one_sequence(state, cards) -> None:
    first = crl.publish(state, AUTH, new_base=True)
    assert (first.full_number, first.delta_number, first.base_number) == (
        first.full_number,
        first.full_number + 1,
        first.full_number,
    )
    assert crl.crl_path(state, AUTH).read_bytes() == first.full
    assert crl.crl_path(state, AUTH, delta=True).read_bytes() == first.delta
    assert (state.root / "crl" / "auth.crl").is_file()
    assert (state.root / "crl" / "auth-delta.crl").is_file()
    counter = (state.root / "ca" / "auth" / "crlnumber").read_text().strip()
    assert int(counter, 16) == first.delta_number
    assert json.loads((state.root / "crl" / "auth.json").read_text())["base_number"] == (
        first.base_number
    )
    assert crl.publish(state, AUTH) == first  # nothing changed: the same CRLs
    assert parse(first.delta).extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert len(parse(first.delta)) == 0


def test_revocation_shows_in_the_next_full_and_delta_crl(state, cards, ca_pem, tmp_path) -> None:
    base = crl.publish(state, AUTH, new_base=True)
    state.revoke(cards[0], AUTH, "keyCompromise")
    published = crl.publish(state, AUTH)
    assert published.full_number > base.delta_number
    assert published.delta_number == published.full_number + 1
    full, delta = parse(published.full), parse(published.delta)
    entry = full.get_revoked_certificate_by_serial_number(serial(state, cards[0]))
    assert entry is not None
    assert reason_of(entry) is x509.ReasonFlags.key_compromise
    assert number_of(full) == published.full_number
    assert delta_base_of(delta) == base.full_number
    assert [e.serial_number for e in delta] == [serial(state, cards[0])]
    assert crl_verifies(published.full, ca_pem, tmp_path)
    assert crl_verifies(published.delta, ca_pem, tmp_path)
    for parsed in (full, delta):
        idp = parsed.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        assert idp.full_name == [x509.UniformResourceIdentifier(state.endpoints.crl_url(AUTH))]


def test_hold_then_release_gives_remove_from_crl_in_the_delta(state, cards) -> None:
    held = serial(state, cards[1])
    state.hold(cards[1], AUTH)
    on_hold = crl.publish(state, AUTH, new_base=True)
    entry = parse(on_hold.full).get_revoked_certificate_by_serial_number(held)
    assert reason_of(entry) is x509.ReasonFlags.certificate_hold
    state.release(cards[1], AUTH)
    released = crl.publish(state, AUTH)
    assert parse(released.full).get_revoked_certificate_by_serial_number(held) is None
    delta = parse(released.delta)
    assert delta_base_of(delta) == on_hold.full_number
    removal = delta.get_revoked_certificate_by_serial_number(held)
    assert reason_of(removal) is x509.ReasonFlags.remove_from_crl


def test_a_stale_base_is_replaced(state, cards) -> None:
    old = crl.publish(state, AUTH, new_base=True)
    later = crl.publish(state, AUTH, now=dt.datetime.now(dt.UTC) + crl.BASE_INTERVAL)
    assert later.base_number == later.full_number > old.base_number


def test_openssl_checks_a_certificate_against_the_published_crls(state, cards, tmp_path) -> None:
    """The IDP matches the certificates' CRL DP, so openssl applies the CRL (and the delta)."""
    published = crl.publish(state, AUTH, force=True)
    ca_pem = state.root / "ca" / "auth" / "ca.pem"
    full_pem, delta_pem = tmp_path / "full.pem", tmp_path / "delta.pem"
    for der, pem in ((published.full, full_pem), (published.delta, delta_pem)):
        (tmp_path / "x.der").write_bytes(der)
        openssl("crl", "-inform", "DER", "-in", tmp_path / "x.der", "-out", pem)
    revoked = write_pem(tmp_path / "revoked.pem", state.certificate(cards[0], AUTH))
    good = write_pem(tmp_path / "good.pem", state.certificate(cards[2], AUTH))
    check = ["verify", "-crl_check", "-use_deltas", "-CAfile", ca_pem]
    check += ["-CRLfile", full_pem, "-CRLfile", delta_pem]
    assert "certificate revoked" in openssl(*check, revoked).stdout
    result = openssl(*check, good)
    assert result.returncode == 0, result.stdout


# --- very large CRLs ---------------------------------------------------------------------------


def test_large_crl_verifies_and_parses_with_real_serials_inside(state, cards, tmp_path) -> None:
    ca = state.ca(AUTH)
    real = [
        serial(state, cards[2]),
        crl.CrlEntry(serial(state, cards[1]), NOW, x509.ReasonFlags.superseded),
    ]
    info = crl.write_large_crl(
        ca, tmp_path / "big.crl", 10_000, real=real, seed=42, number=77, this_update=NOW
    )
    der = (tmp_path / "big.crl").read_bytes()
    assert info.size == len(der)
    assert (info.entries, info.synthetic, info.real_serials) == (
        10_000,
        9_998,
        (real[0], real[1].serial),
    )
    assert crl_verifies(der, state.root / "ca" / "auth" / "ca.pem", tmp_path)
    parsed = parse(der)
    assert parsed.is_signature_valid(ca.certificate.public_key())
    assert len(parsed) == 10_000
    assert number_of(parsed) == 77
    assert parsed.last_update_utc == NOW
    assert reason_of(parsed.get_revoked_certificate_by_serial_number(real[0])) is (
        x509.ReasonFlags.key_compromise
    )
    assert reason_of(parsed.get_revoked_certificate_by_serial_number(real[1].serial)) is (
        x509.ReasonFlags.superseded
    )
    for index in (0, 1, 4_999, 9_997):
        entry = parsed.get_revoked_certificate_by_serial_number(info.serial(index))
        assert entry is not None
        assert reason_of(entry) is info.reason(index)
        assert entry.revocation_date_utc == info.revoked_at(index)
    for index in range(20):
        assert parsed.get_revoked_certificate_by_serial_number(info.absent_serial(index)) is None
    serials = [entry.serial_number for entry in parsed]
    assert len(set(serials)) == 10_000
    assert 0 < serials.index(real[0]) < serials.index(real[1].serial) < 9_999


def test_large_crl_streams_to_a_file_object_and_depends_only_on_its_inputs(ca) -> None:
    first, second, other = io.BytesIO(), io.BytesIO(), io.BytesIO()
    crl.write_large_crl(ca, first, 100, seed=1, this_update=NOW)
    crl.write_large_crl(ca, second, 100, seed=1, this_update=NOW)
    crl.write_large_crl(ca, other, 100, seed=2, this_update=NOW)
    assert first.getvalue() == second.getvalue()  # PKCS#1 v1.5 is deterministic
    assert {e.serial_number for e in parse(first.getvalue())}.isdisjoint(
        e.serial_number for e in parse(other.getvalue())
    )
    assert crl.synthetic_serial(1, 5) == crl.write_large_crl(ca, io.BytesIO(), 10, seed=1).serial(5)


def test_large_delta_crl_and_empty_crl(ca, ca_pem, tmp_path) -> None:
    stream = io.BytesIO()
    crl.write_large_crl(
        ca, stream, 50, delta_base=3, number=4, distribution_point="http://x/auth.crl"
    )
    parsed = parse(stream.getvalue())
    assert delta_base_of(parsed) == 3
    assert parsed.extensions.get_extension_for_class(x509.IssuingDistributionPoint).critical
    assert crl_verifies(stream.getvalue(), ca_pem, tmp_path)
    empty = io.BytesIO()
    crl.write_large_crl(ca, empty, 0)
    assert len(parse(empty.getvalue())) == 0
    assert crl_verifies(empty.getvalue(), ca_pem, tmp_path)


def test_large_crl_refuses_more_real_serials_than_entries(ca) -> None:
    with pytest.raises(ValueError, match="more real serials"):
        crl.write_large_crl(ca, io.BytesIO(), 1, real=[1, 2])


MILLION = """
import datetime as dt, json, sys, time
from sandbox import crl, pki
from sandbox.profiles import CertKind
ca = pki.make_ca(CertKind.SIGN, now=dt.datetime.now(dt.UTC))
start = time.perf_counter()
info = crl.write_large_crl(ca, sys.argv[1], 1_000_000, real=[12345], seed=3)
seconds = time.perf_counter() - start
ca_pem = sys.argv[1] + ".ca.pem"
open(ca_pem, "wb").write(ca.certificate.public_bytes(__import__(
    "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.PEM))
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a large pytest
# process would report the parent's size.
rss = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": seconds, "peak_rss_mb": rss, "size": info.size,
                  "serial": info.serial(500_000)}))
"""


@pytest.mark.slow
def test_a_million_entry_crl_is_written_in_flat_memory(tmp_path) -> None:
    path = tmp_path / "million.crl"
    run = subprocess.run(
        [sys.executable, "-c", MILLION, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"1M-entry CRL: {report}")
    assert report["size"] == path.stat().st_size
    assert report["peak_rss_mb"] < 150
    assert report["seconds"] < 60
    result = openssl(
        "crl", "-inform", "DER", "-in", path, "-CAfile", f"{path}.ca.pem", "-verify", "-noout"
    )
    assert "verify OK" in result.stdout
    parsed = parse(path.read_bytes())
    assert len(parsed) == 1_000_000
    assert parsed.get_revoked_certificate_by_serial_number(12345) is not None
    assert parsed.get_revoked_certificate_by_serial_number(report["serial"]) is not None
