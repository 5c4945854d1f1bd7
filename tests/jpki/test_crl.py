"""CRLs: ingest checks, the shared index, fail-closed expiry, deltas, holds."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from cryptography import x509

from idp.jpki.crl import CrlStatusSource
from idp.jpki.crl_index import CrlIndex
from idp.jpki.crl_ingest import Expectation, ingest
from idp.jpki.crl_updater import CrlRefresher, CrlUpdater
from idp.jpki.der import serial_key
from idp.jpki.errors import (
    CertificateOnHold,
    CertificateRevoked,
    CrlBadSignature,
    CrlExpired,
    CrlOutdated,
    CrlRejected,
    CrlUnavailable,
    CrlWrongIssuer,
    ResponderUnavailable,
)
from idp.jpki.settings import CertificateType
from sandbox import crl as sandbox_crl
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.crl import CrlEntry, make_crl, write_large_crl
from sandbox.profiles import CertKind
from tests.jpki.conftest import make_settings

AUTH = CertificateType.AUTH
SKEW = dt.timedelta(minutes=5)
R = x509.ReasonFlags


def _entries(now: dt.datetime) -> list[CrlEntry]:
    at = (now - dt.timedelta(days=3)).replace(microsecond=0)
    return [
        CrlEntry(11, at, R.key_compromise),
        CrlEntry(12, at, R.certificate_hold),
        CrlEntry(13, at, None),
        CrlEntry(14, at, R.affiliation_changed, invalidity_date=at),
        CrlEntry(2**158 + 5, at, R.superseded),
    ]


def _ingest(der: bytes, tmp_path, auth_ca, now, **expect) -> CrlIndex:
    expectation = Expectation(expect.pop("delta", False), now, SKEW, **expect)
    return ingest(io.BytesIO(der), tmp_path / "auth-full.idx", (auth_ca.certificate,), expectation)


def test_index_agrees_with_cryptography_on_every_entry(auth_ca, tmp_path, now):
    der = make_crl(auth_ca, _entries(now), now=now)
    index = _ingest(der, tmp_path, auth_ca, now)
    parsed = x509.load_der_x509_crl(der)
    for entry in parsed:
        reason, when = index.lookup(serial_key(entry.serial_number))
        try:
            expected = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            expected = None
        assert (reason == 0xFF) is (expected is None)
        assert when == int(entry.revocation_date_utc.strftime("%Y%m%d%H%M%S"))
    assert index.lookup(serial_key(99)) is None
    assert index.metadata["entries"] == 5


def test_empty_crl_lists_nothing(auth_ca, tmp_path, now):
    index = _ingest(make_crl(auth_ca, [], now=now), tmp_path, auth_ca, now)
    assert index.lookup(serial_key(11)) is None


def test_forged_crl_is_refused_as_bad_signature(auth_ca, foreign_ca, tmp_path, now):
    der = make_crl(auth_ca, _entries(now), now=now, signer=foreign_ca.root)
    with pytest.raises(CrlBadSignature) as refused:
        _ingest(der, tmp_path, auth_ca, now)
    assert refused.value.reason == "crl_bad_signature"
    assert not (tmp_path / "auth-full.idx").exists()


def test_crl_of_another_issuer_is_refused_as_wrong_issuer(auth_ca, sign_ca, tmp_path, now):
    der = make_crl(sign_ca, _entries(now), now=now)
    with pytest.raises(CrlWrongIssuer):
        _ingest(der, tmp_path, auth_ca, now)


def test_expired_crl_is_refused_as_crl_expired(auth_ca, tmp_path, now):
    der = make_crl(auth_ca, [], this_update=now - dt.timedelta(days=2),
                   next_update=now - dt.timedelta(days=1))  # fmt: skip
    with pytest.raises(CrlExpired):
        _ingest(der, tmp_path, auth_ca, now)


def test_older_crl_number_is_refused_as_crl_outdated(auth_ca, tmp_path, now):
    der = make_crl(auth_ca, [], now=now, number=4)
    with pytest.raises(CrlOutdated) as refused:
        _ingest(der, tmp_path, auth_ca, now, held_number=5)
    assert refused.value.reason == "crl_outdated"


def test_delta_where_a_full_crl_is_due_is_refused(auth_ca, tmp_path, now):
    with pytest.raises(CrlRejected):
        _ingest(make_crl(auth_ca, [], now=now, number=3, delta_base=2), tmp_path, auth_ca, now)


def test_unknown_critical_crl_extension_is_refused(auth_ca, tmp_path, now):
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00")
    with pytest.raises(CrlRejected, match="critical"):
        _ingest(
            make_crl(auth_ca, [], now=now, extra_extensions=[(odd, True)]), tmp_path, auth_ca, now
        )


@pytest.mark.parametrize("cut", [1, 10, 200, -1, -40])
def test_truncated_crl_is_refused(auth_ca, tmp_path, now, cut):
    der = make_crl(auth_ca, _entries(now), now=now)
    with pytest.raises(CrlRejected):
        _ingest(der[:cut], tmp_path, auth_ca, now)


def test_trailing_bytes_after_the_crl_are_refused(auth_ca, tmp_path, now):
    with pytest.raises(CrlRejected):
        _ingest(make_crl(auth_ca, [], now=now) + b"\x00", tmp_path, auth_ca, now)


def test_large_crl_streams_and_finds_present_and_absent_serials(auth_ca, tmp_path, now):
    path = tmp_path / "large.crl"
    large = write_large_crl(auth_ca, path, 20_000, real=[CrlEntry(77, now.replace(microsecond=0),
                            R.certificate_hold)], now=now)  # fmt: skip
    with path.open("rb") as stream:
        index = ingest(stream, tmp_path / "auth-full.idx", (auth_ca.certificate,),
                       Expectation(False, now, SKEW))  # fmt: skip
    assert index.metadata["entries"] == 20_000
    assert index.lookup(serial_key(77))[0] == 6
    for i in range(0, 19_999, 997):
        assert index.lookup(serial_key(large.serial(i))) is not None
        assert index.lookup(serial_key(large.absent_serial(i))) is None


# --- status from the indexes, through the updater ----------------------------------------------


class Served:
    """A transport serving fixed CRL bytes per URL, standing for J-LIS's CRL server."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def download(self, url, sink, timeout, max_bytes):  # noqa: ARG002
        if url not in self.files:
            raise ResponderUnavailable("not found")
        sink.write(self.files[url])


def _served(state, server, tmp_path, auth_ca, *, delta: bool):
    deltas = {AUTH: "http://crl/auth-delta.crl"} if delta else {}
    settings = make_settings(state, server, tmp_path, crl_urls={AUTH: "http://crl/auth.crl"},
                             delta_crl_urls=deltas)  # fmt: skip
    transport = Served()
    return transport, CrlUpdater(settings, {AUTH: (auth_ca.certificate,)}, transport)


@pytest.fixture
def served(state, server, tmp_path, auth_ca):
    return _served(state, server, tmp_path, auth_ca, delta=False)


@pytest.fixture
def served_delta(state, server, tmp_path, auth_ca):
    return _served(state, server, tmp_path, auth_ca, delta=True)


def test_no_crl_loaded_fails_closed(served, now):
    _, updater = served
    with pytest.raises(CrlUnavailable) as refused:
        updater.source(AUTH).check(11, now)
    assert refused.value.reason == "crl_unavailable"


def test_listed_serials_are_revoked_or_on_hold(served, auth_ca, now):
    transport, updater = served
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, _entries(now), now=now, number=1)
    updater.refresh(AUTH, now)
    source = updater.source(AUTH)
    with pytest.raises(CertificateRevoked) as revoked:
        source.check(11, now)
    assert revoked.value.revocation_reason == "keyCompromise"
    assert revoked.value.revoked_at == (now - dt.timedelta(days=3)).replace(microsecond=0)
    with pytest.raises(CertificateOnHold):
        source.check(12, now)
    assert source.check(99, now).number == 1


def test_last_valid_crl_is_kept_until_next_update_then_fails_closed(
    served, auth_ca, foreign_ca, now
):
    transport, updater = served
    soon = now + dt.timedelta(hours=1)
    transport.files["http://crl/auth.crl"] = make_crl(
        auth_ca, [], now=now, number=1, next_update=soon
    )
    updater.refresh(AUTH, now)
    transport.files["http://crl/auth.crl"] = make_crl(
        auth_ca, [], now=now, number=2, signer=foreign_ca.root
    )
    with pytest.raises(CrlBadSignature):
        updater.refresh(AUTH, now)
    assert updater.source(AUTH).check(99, now + dt.timedelta(minutes=59)).number == 1
    with pytest.raises(CrlUnavailable):
        updater.source(AUTH).check(99, now + dt.timedelta(hours=1))


def test_older_replacement_is_refused_and_the_held_crl_stays(served, auth_ca, now):
    transport, updater = served
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, [], now=now, number=7)
    updater.refresh(AUTH, now)
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, _entries(now), now=now, number=6)
    with pytest.raises(CrlOutdated):
        updater.refresh(AUTH, now)
    assert updater.source(AUTH).check(11, now).number == 7


def test_hold_then_release_through_delta_crls(served_delta, auth_ca, now):
    transport, updater = served_delta
    at = (now - dt.timedelta(hours=1)).replace(microsecond=0)
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, [], now=now, number=10)
    transport.files["http://crl/auth-delta.crl"] = make_crl(
        auth_ca, [CrlEntry(12, at, R.certificate_hold)], now=now, number=11, delta_base=10
    )
    updater.refresh(AUTH, now)
    with pytest.raises(CertificateOnHold):
        updater.source(AUTH).check(12, now)
    transport.files["http://crl/auth-delta.crl"] = make_crl(
        auth_ca, [CrlEntry(12, at, R.remove_from_crl)], now=now, number=12, delta_base=10
    )
    updater.refresh(AUTH, now)
    assert updater.source(AUTH).check(12, now).delta_number == 12


def test_expired_delta_fails_closed(served_delta, auth_ca, now):
    transport, updater = served_delta
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, [], now=now, number=10)
    transport.files["http://crl/auth-delta.crl"] = make_crl(
        auth_ca, [], now=now, number=11, delta_base=10, next_update=now + dt.timedelta(hours=1)
    )
    updater.refresh(AUTH, now)
    with pytest.raises(CrlUnavailable):
        updater.source(AUTH).check(12, now + dt.timedelta(hours=2))


def test_delta_for_a_base_we_do_not_hold_is_refused(served_delta, auth_ca, now):
    transport, updater = served_delta
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, [], now=now, number=10)
    transport.files["http://crl/auth-delta.crl"] = make_crl(
        auth_ca, [], now=now, number=21, delta_base=20
    )
    with pytest.raises(CrlRejected):
        updater.refresh(AUTH, now)


def test_second_process_sees_a_refresh_without_parsing(served, auth_ca, now):
    transport, updater = served
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, [], now=now, number=1)
    updater.refresh(AUTH, now)
    reader = CrlStatusSource(updater.folder, AUTH)  # another process's view of the same files
    assert reader.check(11, now).number == 1
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, _entries(now), now=now, number=2)
    updater.refresh(AUTH, now)
    with pytest.raises(CertificateRevoked):
        reader.check(11, now)


# --- the live sandbox CRL server -------------------------------------------------------------


def test_live_crls_refresh_and_answer(state, server, cards, tmp_path, now):
    updater = CrlUpdater(make_settings(state, server, tmp_path),
                         {AUTH: (state.ca(CertKind.AUTH).certificate,)}, _http())  # fmt: skip
    updater.refresh(AUTH, now)
    source = updater.source(AUTH)
    assert source.check(state.certificate(cards.good.id, CertKind.AUTH).serial_number, now)
    with pytest.raises(CertificateRevoked):
        source.check(state.certificate(cards.revoked.id, CertKind.AUTH).serial_number, now)


def _http():
    from idp.jpki.transport import HttpTransport

    return HttpTransport()


@pytest.mark.parametrize(
    ("mode", "error"),
    [("wrong_key", CrlBadSignature), ("stale", CrlExpired), ("garbage", CrlRejected),
     ("http_500", ResponderUnavailable), ("down", ResponderUnavailable)],
)  # fmt: skip
def test_misbehaving_crl_server_is_refused(state, server, tmp_path, now, mode, error):
    updater = CrlUpdater(make_settings(state, server, tmp_path),
                         {AUTH: (state.ca(CertKind.AUTH).certificate,)}, _http())  # fmt: skip
    with server.misbehaving(crl=mode, kind="auth"), pytest.raises(error):
        updater.refresh(AUTH, now)


def test_live_older_crl_after_a_newer_one_is_refused(state, server, tmp_path, now):
    updater = CrlUpdater(make_settings(state, server, tmp_path),
                         {AUTH: (state.ca(CertKind.AUTH).certificate,)}, _http())  # fmt: skip
    updater.refresh(AUTH, now)
    with server.misbehaving(crl="older", kind="auth"), pytest.raises(CrlOutdated):
        updater.refresh(AUTH, now)


def test_live_hold_then_release(state, server, tmp_path, now):
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    serial = state.certificate(card.id, CertKind.AUTH).serial_number
    updater = CrlUpdater(make_settings(state, server, tmp_path),
                         {AUTH: (state.ca(CertKind.AUTH).certificate,)}, _http())  # fmt: skip
    state.hold(card.id, CertKind.AUTH)
    updater.refresh(AUTH, dt.datetime.now(dt.UTC))
    with pytest.raises(CertificateOnHold):
        updater.source(AUTH).check(serial, now)
    state.release(card.id, CertKind.AUTH)
    sandbox_crl.publish(state, CertKind.AUTH, force=True)
    updater.refresh(AUTH, dt.datetime.now(dt.UTC))
    assert updater.source(AUTH).check(serial, dt.datetime.now(dt.UTC))


def test_background_refresher_loads_the_crl_and_stops(state, server, tmp_path):
    updater = CrlUpdater(make_settings(state, server, tmp_path),
                         {AUTH: (state.ca(CertKind.AUTH).certificate,)}, _http())  # fmt: skip
    refresher = CrlRefresher(updater, interval=0.05)
    refresher.start()
    try:
        deadline = time.monotonic() + 10
        while updater.source(AUTH).next_update() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        refresher.stop()
    assert updater.source(AUTH).next_update() is not None
    assert not refresher._thread.is_alive()


READER = """
import datetime as dt, sys
from idp.jpki.crl import CrlStatusSource
from idp.jpki.errors import JpkiValidationError
source = CrlStatusSource(sys.argv[1], "auth")
for serial in (11, 12, 99):
    try:
        print(source.check(serial, dt.datetime.now(dt.UTC)).number)
    except JpkiValidationError as error:
        print(error.reason)
"""


def test_another_process_reads_the_shared_index_without_the_crl(served, auth_ca, now):
    import subprocess
    import sys

    transport, updater = served
    transport.files["http://crl/auth.crl"] = make_crl(auth_ca, _entries(now), now=now, number=3)
    updater.refresh(AUTH, now)
    completed = subprocess.run(
        [sys.executable, "-c", READER, str(updater.folder)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert completed.stdout.split() == ["revoked", "on_hold", "3"]
    assert not list(updater.folder.glob("*.crl"))  # only the index is shared, not the CRL
