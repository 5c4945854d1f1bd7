"""PAdES baseline levels with the sandbox's time-stamping authority: what each level puts in the
signed PDF, that a contract still validates as of its signing time after the signing
certificate has expired or been revoked for a move, that one revoked before signing does not,
that archive timestamps renew, and that a level is never silently dropped when the TSA fails."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import re
import time

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.status import SignatureCoverageLevel

from idp.config import DocumentsConfig
from idp.documents import cms, longterm, pades
from idp.documents.coroutines import run
from idp.documents.timestamps import load_roots
from sandbox import tsa
from sandbox.profiles import CertKind
from tests.documents.conftest import (
    CONTRACT,
    Bank,
    bind_card,
    log_in,
    open_review,
    register,
    sample_pdf,
)
from tests.documents.longterm_helpers import (
    dss_validation,
    future_validation,
    lta_validation,
    pdfsig,
    roots_of,
)
from tests.documents.test_outputs import openssl_verify

PASSED = "AdESPassed.OK"


def _app(world, database_url, tmp_path, documents: DocumentsConfig):
    from tests.conftest import idp_test_config, make_app
    from tests.login.conftest import jpki_settings

    # The OCSP answer may take more than the usual test second on a loaded machine.
    jpki = dataclasses.replace(jpki_settings(world.state, tmp_path), ocsp_timeout=5.0)
    config = idp_test_config(database_url, jpki=jpki, documents=documents)
    return make_app(config, tmp_path / "instance", cardless_login=True)


@pytest.fixture
def lt_app(world, database_url, tmp_path):
    """A testing IdP with the sandbox's TSA configured (so B-T and above can be made)."""
    from tests.conftest import drop_schema

    documents = DocumentsConfig(
        tsa_url=world.server.tsa_url, tsa_trust=str(tsa.trust_file(world.state))
    )
    application = _app(world, database_url, tmp_path, documents)
    yield application
    drop_schema(application)


@pytest.fixture
def plain_bank(world, database_url, tmp_path):
    """A bank at a testing IdP without a TSA."""
    from tests.conftest import drop_schema

    application = _app(world, database_url, tmp_path, DocumentsConfig())
    yield bank_for(application, world.good, "citizen-1")
    drop_schema(application)


@pytest.fixture
def lt_bank(lt_app, world) -> Bank:
    bank = Bank(lt_app, register(lt_app))
    bind_card(lt_app, world.good, "citizen-1")
    log_in(bank.rp, "citizen-1")
    return bank


def bank_for(app, card, account: str, level: str | None = None) -> Bank:
    """Another bank whose citizen's browser is logged in as ``account``, bound to ``card``."""
    bank = Bank(app, register(app, name=f"Bank of {account}"))
    bind_card(app, card, account)
    log_in(bank.rp, account)
    if level:
        set_level(bank, level)
    return bank


def set_level(bank: Bank, level: str) -> None:
    from idp.oidc.clients import find_client
    from idp.storage.db import db

    with bank.app.app_context():
        client = find_client(bank.rp.client_id)
        client.set_client_metadata({**client.client_metadata, "pades_level": level})
        db.session.add(client)
        db.session.commit()


def roots(world) -> list:
    return roots_of(world.signing_root, tsa.trust_file(world.state))


def sign_pdf(bank: Bank, card, account: str = "citizen-1") -> tuple[str, object]:
    """Submit a PDF for ``account``, sign it with ``card``; the document id and the answer."""
    answer = bank.document(account, digest=None, pdf=base64.b64encode(sample_pdf()).decode())
    return answer["document_id"], open_review(bank.rp.http, answer["document_id"]).sign(card)


def signed_pdf(bank: Bank, card, account: str = "citizen-1") -> bytes:
    document_id, response = sign_pdf(bank, card, account)
    assert response.status_code == 303, response.get_data(as_text=True)
    fetched = bank.status(document_id, "/signed.pdf")
    assert fetched.status_code == 200
    return fetched.data


def dss(pdf: bytes) -> dict:
    root = PdfFileReader(io.BytesIO(pdf)).root
    store = root["/DSS"]
    return {key: len(store[key]) for key in ("/Certs", "/OCSPs", "/CRLs") if key in store}


def signature_timestamps(container: asn1_cms.ContentInfo) -> list:
    signer = container["content"]["signer_infos"][0]
    attributes = signer["unsigned_attrs"].native or []
    return [a for a in attributes if a["type"] == "signature_time_stamp_token"]


def refusal(response) -> str:
    match = re.search(r'data-reason="([a-z_]+)"', response.get_data(as_text=True))
    return match.group(1) if match else ""


def test_by_default_a_pdf_is_b_lt_and_validates_with_pyhanko_and_pdfsig(lt_bank, world, tmp_path):
    pdf = signed_pdf(lt_bank, world.good)
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_regular_signatures
    assert reader.embedded_timestamp_signatures == []  # B-LT: no archive timestamp
    assert len(signature_timestamps(asn1_cms.ContentInfo({
        "content_type": "signed_data", "content": signature.signed_data}))) == 1  # fmt: skip
    stored = dss(pdf)
    assert stored["/Certs"] >= 2  # the signer's chain and the TSA's
    assert stored.get("/OCSPs", 0) >= 1  # the card certificate's status at signing
    assert signature.evaluate_signature_coverage() == SignatureCoverageLevel.ENTIRE_REVISION
    assert dss_validation(pdf, roots(world)).bottom_line  # the DSS suffices: no fetching
    report = pdfsig(pdf, [world.signing_root, tsa.trust_file(world.state)], tmp_path)
    assert "Signature is Valid." in report, report
    assert "Certificate is Trusted." in report, report


def test_a_contract_at_b_lta_outlives_its_certificate_expiry_and_a_later_revocation(lt_bank, world):
    card = world.new_card()
    bank = bank_for(lt_bank.app, card, "citizen-7", "B-LTA")
    pdf = signed_pdf(bank, card, "citizen-7")
    assert len(PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures) == 1
    now = dt.datetime.now(dt.UTC)
    assert str(lta_validation(pdf, roots(world), now).ades_subindic) == PASSED
    # Six years on, the five-year signing certificate has expired; the timestamps prove it
    # was valid when it signed.
    later = now + dt.timedelta(days=365 * 6)
    assert card.certificate.not_valid_after_utc < later
    assert str(future_validation(pdf, roots(world), later).ades_subindic) == PASSED
    # The borrower moves: the certificate is revoked, after the signature's timestamp.
    time.sleep(1.5)
    world.state.revoke(card.id, CertKind.SIGN, "affiliationChanged")
    # What the file holds (chain, the good OCSP answer of signing time, the timestamps) still
    # proves the signature, now that the certificate is revoked.
    after = lta_validation(pdf, roots(world), dt.datetime.now(dt.UTC))
    assert str(after.ades_subindic) == PASSED, after
    # ... which is real: the IdP now refuses a new signature with that certificate.
    _, refused = sign_pdf(bank, card, "citizen-7")
    assert (refused.status_code, refusal(refused)) == (403, "revoked")


def test_a_signature_made_after_its_certificate_was_revoked_does_not_validate(world):
    """The IdP refuses such a signature (its fresh OCSP check); a file made without it (here
    by hand, with the revoked card's key) fails validation with the live revocation data."""
    long_term = longterm.LongTerm(
        world.server.tsa_url, load_roots(tsa.trust_file(world.state)),
        roots_of(world.signing_root),
    )  # fmt: skip
    prepared = pades.prepare(sample_pdf())
    attributes = cms.signed_attributes(prepared.byte_range_digest, dt.datetime.now(dt.UTC))
    signature = world.revoked.key.sign(
        cms.digest_to_sign(attributes), padding.PKCS1v15(), Prehashed(hashes.SHA256())
    )
    container = run(longterm.signature_container(
        asn1_cms.CMSAttributes.load(attributes), world.revoked.certificate, signature,
        longterm.Level.B_T, long_term,
    ))  # fmt: skip
    pdf = pades.embed(prepared, container)
    with pytest.raises(longterm.LevelUnavailable):  # nor can it be raised to B-LT
        run(longterm.extend(pdf, longterm.Level.B_LT, long_term))
    result = lta_validation(pdf, roots(world), dt.datetime.now(dt.UTC), fetch=True)
    assert str(result.ades_subindic) != PASSED
    assert result.api_status.revocation_details is not None, result


def test_the_idp_refuses_a_contract_with_a_certificate_revoked_before_signing(lt_bank, world):
    bank = bank_for(lt_bank.app, world.revoked, "citizen-8", "B-LTA")
    document_id, response = sign_pdf(bank, world.revoked, "citizen-8")
    assert (response.status_code, refusal(response)) == (403, "revoked")
    assert bank.status(document_id).json["status"] == "pending"


@pytest.mark.parametrize("mode", ["down", "http_500", "wrong_digest", "untrusted"])
def test_without_a_trustworthy_timestamp_nothing_is_delivered(lt_bank, world, mode):
    set_level(lt_bank, "B-LTA")
    with world.server.tsa_misbehaving(mode):
        document_id, response = sign_pdf(lt_bank, world.good)
    assert (response.status_code, refusal(response)) == (503, "timestamp_unavailable")
    status = lt_bank.status(document_id).json
    assert status["status"] == "pending"
    assert "cms" not in status
    assert lt_bank.status(document_id, "/signed.pdf").status_code == 404
    again = open_review(lt_bank.rp.http, document_id).sign(world.good)  # the TSA is back
    assert again.status_code == 303, again.get_data(as_text=True)
    assert lt_bank.status(document_id).json["status"] == "signed"


def test_a_level_needing_a_tsa_is_refused_where_none_is_configured(plain_bank, world):
    bank = plain_bank
    set_level(bank, "B-T")
    document_id, response = sign_pdf(bank, world.good)
    assert (response.status_code, refusal(response)) == (503, "timestamp_unavailable")
    assert bank.status(document_id).json["status"] == "pending"


def test_without_a_tsa_and_without_a_chosen_level_a_pdf_is_b_b(plain_bank, world):
    pdf = signed_pdf(plain_bank, world.good)
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_regular_signatures
    assert "/DSS" not in reader.root
    container = asn1_cms.ContentInfo({"content_type": "signed_data",
                                      "content": signature.signed_data})  # fmt: skip
    assert signature_timestamps(container) == []


def test_a_digest_document_gets_a_signature_timestamp_and_still_verifies(lt_bank, world, tmp_path):
    answer = lt_bank.document()
    response = open_review(lt_bank.rp.http, answer["document_id"]).sign(world.good)
    assert response.status_code == 303
    container = base64.b64decode(lt_bank.status(answer["document_id"]).json["cms"])
    (token,) = signature_timestamps(asn1_cms.ContentInfo.load(container))
    signer = asn1_cms.ContentInfo.load(container)["content"]["signer_infos"][0]
    info = asn1_cms.ContentInfo.load(container)["content"]["signer_infos"][0]["unsigned_attrs"]
    stamped = info[0]["values"][0]["content"]["encap_content_info"]["content"].parsed
    assert (
        stamped["message_imprint"]["hashed_message"].native
        == hashlib.sha256(signer["signature"].native).digest()
    )
    assert token["values"]
    verified = openssl_verify(container, CONTRACT, world.signing_root, tmp_path)
    assert verified.returncode == 0, verified.stderr


def test_the_archive_timestamp_can_be_renewed(lt_bank, world, tmp_path):
    set_level(lt_bank, "B-LTA")
    source, target = tmp_path / "contract.pdf", tmp_path / "renewed.pdf"
    source.write_bytes(signed_pdf(lt_bank, world.good))
    runner = lt_bank.app.test_cli_runner()
    with world.server.tsa_misbehaving("down"):
        down = runner.invoke(args=["documents", "timestamp", str(source), str(target)])
    assert down.exit_code != 0
    assert "not renewed: tsa_unavailable" in down.output
    assert not target.exists()
    result = runner.invoke(args=["documents", "timestamp", str(source), str(target)])
    assert result.exit_code == 0, result.output
    assert '"before":1' in result.output
    assert '"document_timestamps":2' in result.output
    renewed = target.read_bytes()
    assert renewed.startswith(source.read_bytes())
    assert len(PdfFileReader(io.BytesIO(renewed)).embedded_timestamp_signatures) == 2
    result = lta_validation(renewed, roots(world), dt.datetime.now(dt.UTC))
    assert str(result.ades_subindic) == PASSED
    again = runner.invoke(args=["documents", "timestamp", str(source), str(target)])
    assert again.exit_code != 0
    assert "never overwritten" in again.output


def test_renewal_refuses_what_it_cannot_do(lt_app, tmp_path):
    not_pdf = tmp_path / "notes.txt"
    not_pdf.write_bytes(b"hello")
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(sample_pdf())
    runner = lt_app.test_cli_runner()
    for source in (not_pdf, unsigned):
        result = runner.invoke(args=["documents", "timestamp", str(source), str(tmp_path / "o")])
        assert result.exit_code != 0
        assert "not a readable signed PDF" in result.output
    assert not (tmp_path / "o").exists()


def test_renewal_needs_a_tsa(app, tmp_path):
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(sample_pdf())
    result = app.test_cli_runner().invoke(
        args=["documents", "timestamp", str(unsigned), str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert "no time-stamping authority" in result.output


def test_a_client_registers_its_level_and_only_a_known_one(lt_app):
    from idp.oidc.clients import ClientRejected, register_client

    assert tuple(level.value for level in longterm.Level) == longterm.LEVELS
    with lt_app.app_context():
        client, _ = register_client("Contracts", ["https://bank.example/cb"],
                                    "client_secret_basic", pades_level="B-LTA")  # fmt: skip
        assert client.client_metadata["pades_level"] == "B-LTA"
        assert client.describe()["pades_level"] == "B-LTA"
        with pytest.raises(ClientRejected, match="pades_level must be one of"):
            register_client("Contracts", ["https://bank.example/cb"], "client_secret_basic",
                            pades_level="B-LTB")  # fmt: skip
    result = lt_app.test_cli_runner().invoke(args=[
        "client", "add", "--name", "Bank", "--redirect-uri", "https://bank.example/cb",
        "--auth-method", "client_secret_basic", "--pades-level", "B-XX"])  # fmt: skip
    assert result.exit_code != 0
    assert "B-LTA" in result.output


def test_the_sample_bank_accepts_what_b_lta_adds_after_the_signature(lt_bank, world):
    """The bank's check of the signed PDF (one signature, the IdP's CMS, the whole file covered)
    lets the DSS and document timestamps follow the signature, and nothing else."""
    from examples.relying_party import contract

    set_level(lt_bank, "B-LTA")
    original = sample_pdf()
    answer = lt_bank.document(digest=None, pdf=base64.b64encode(original).decode())
    response = open_review(lt_bank.rp.http, answer["document_id"]).sign(world.good)
    assert response.status_code == 303
    status = lt_bank.status(answer["document_id"]).json
    pdf = lt_bank.status(answer["document_id"], "/signed.pdf").data
    cms_der = base64.b64decode(status["cms"])
    verified = contract.verify_signed_pdf(pdf, original, cms_der, status["signer_certificate"])
    assert verified.serial == format(world.good.certificate.serial_number, "X")
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))  # a later revision changing the catalogue
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    tampered = out.getvalue()
    with pytest.raises(contract.SignatureRefused):
        contract.verify_signed_pdf(tampered, original, cms_der, status["signer_certificate"])
