"""A renewed and moved card in the virtual reader: what the bridge reads and signs with are the
new certificates and keys, under the PINs the holder already had (sandbox/lifecycle.py)."""

from __future__ import annotations

import contextlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox import lifecycle
from sandbox.profiles import CertKind
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
from tests.sandbox.card.conftest import READER, insert_card, reader_status, require_virtual_reader
from tests.sandbox.card.test_pcsc_pyscard import Connection

pytestmark = pytest.mark.pcsc

NEW_ADDRESS = "大阪府大阪市北区梅田一丁目三番一号"


@pytest.fixture
def renewed_card(state_and_card_id, reader_lock):
    state, card_id = state_and_card_id
    old = {kind: state.certificate(card_id, kind) for kind in CertKind}
    lifecycle.renew(state, card_id, list(CertKind))
    lifecycle.move(state, card_id, NEW_ADDRESS)
    require_virtual_reader()
    if reader_status(READER)[0]:
        pytest.fail(f"a card is already in {READER!r}; remove it first", pytrace=False)
    handle = insert_card(state, card_id)
    connection = Connection(handle.reader)
    try:
        yield state, card_id, old, handle, connection
    finally:
        connection.close()
        with contextlib.suppress(Exception):
            handle.remove()


def test_the_bridge_reads_and_signs_with_the_new_certificates(renewed_card):
    state, card_id, old, handle, connection = renewed_card
    der = serialization.Encoding.DER
    assert sw(connection.transmit(select_aid())) == "9000"
    connection.transmit(select_ef(0x000A))
    auth = read_file(connection.transmit)
    assert auth == state.certificate(card_id, CertKind.AUTH).public_bytes(der)
    assert auth != old[CertKind.AUTH].public_bytes(der)
    connection.transmit(select_ef(0x0018))
    assert sw(connection.transmit(verify(handle.auth_pin))) == "9000"
    connection.transmit(select_ef(0x0017))
    response = connection.transmit(sign(digest_info(b"challenge")))
    assert sw(response) == "9000"
    x509.load_der_x509_certificate(auth).public_key().verify(  # type: ignore[call-arg]
        data(response), b"challenge", padding.PKCS1v15(), hashes.SHA256()
    )
    connection.transmit(select_ef(0x001B))
    assert sw(connection.transmit(verify(handle.sign_pin))) == "9000"
    connection.transmit(select_ef(0x0001))
    signing = x509.load_der_x509_certificate(read_file(connection.transmit))
    assert signing == state.certificate(card_id, CertKind.SIGN)
    assert signing.serial_number != old[CertKind.SIGN].serial_number
    san = signing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert any(
        NEW_ADDRESS.encode() in other.value for other in san.get_values_for_type(x509.OtherName)
    )
