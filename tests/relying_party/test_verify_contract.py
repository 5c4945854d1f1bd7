"""``python -m examples.relying_party verify-contract FILE``: the report on a kept, signed
contract, on the IdP's real output. Valid with the signing CA's root (and says what today's
signature lacks for the long term); invalid, with the reason, when a byte of the contract is
changed, when a second revision changes the page, with another root, or for a PDF that was
never signed."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.relying_party.conftest import apply, csrf, fetch_income, session_data, sign

ROOT_SUFFIX = ("ca", "sign", "ca.pem")


@pytest.fixture(scope="module")
def signed_pdf(bank, idp, world) -> bytes:
    import requests

    with requests.Session() as browser:
        page = fetch_income(browser, bank, apply(browser, bank))
        review = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
        done = sign(browser, idp, world.card, review)
        assert done.url == bank.url + "/contract", done.text
        pdf = browser.get(bank.url + "/contract/signed.pdf")
        assert pdf.status_code == 200
        return pdf.content


def _root(world):
    return world.state.root.joinpath(*ROOT_SUFFIX)


def _verify(path, *roots, as_json: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "examples.relying_party", "verify-contract", str(path)]
    command += [arg for root in roots for arg in ("--root", str(root))]
    command += ["--json"] if as_json else []
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_signed_contract_is_reported_valid_with_who_when_and_what_is_missing(
    signed_pdf, world, tmp_path
):
    path = tmp_path / "contract.pdf"
    path.write_bytes(signed_pdf)
    done = _verify(path, _root(world))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Result: VALID - valid today")
    assert "Signer: 山田\u3000花子" in lines
    assert "Whole document covered: yes" in lines
    assert "Chain to a trusted root: yes" in lines
    assert "Revocation data embedded: none" in lines
    assert "Signature time-stamp: none" in lines
    assert any(line.startswith("Signing time (claimed by the signer): 20") for line in lines)
    assert any(line.startswith("PAdES level: ") for line in lines)
    report = json.loads(_verify(path, _root(world), as_json=True).stdout)
    assert report["valid"] is True
    assert report["serial"] == format(world.card.certificate.serial_number, "X")
    if report["level"] not in ("PAdES B-LT", "PAdES B-LTA"):  # what today's signature lacks
        assert "Revocation checked from the file: no" in lines
        assert any("revocation data" in item for item in report["missing"])
        assert "valid today" in report["reason"]


def test_a_changed_byte_makes_it_invalid(signed_pdf, world, tmp_path):
    """One digit of the contract's date in its metadata (inside the signed bytes; the page
    itself is a compressed stream, where a changed byte would only break the file)."""
    at = signed_pdf.index(b"/CreationDate (D\\072") + len(b"/CreationDate (D\\072")
    tampered = bytearray(signed_pdf)
    tampered[at] = ord("1") if tampered[at] != ord("1") else ord("2")  # 2026 -> 1026
    path = tmp_path / "tampered.pdf"
    path.write_bytes(bytes(tampered))
    done = _verify(path, _root(world))
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith("Result: INVALID - the contract was changed after it was signed")


def test_a_later_revision_that_changes_the_page_makes_it_invalid(signed_pdf, world, tmp_path):
    """An incremental update after the signature (the amount changed on the page): the
    signature still verifies over its own revision, but no longer covers the file."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    from pyhanko.pdf_utils import generic

    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "changed.pdf"
    path.write_bytes(out.getvalue())
    done = _verify(path, _root(world))
    assert done.returncode == 1, done.stdout
    assert "Whole document covered: no" in done.stdout
    assert "does not cover the whole file" in done.stdout.splitlines()[0]


def test_another_root_makes_it_invalid(signed_pdf, world, tmp_path):
    path = tmp_path / "contract.pdf"
    path.write_bytes(signed_pdf)
    other = world.state.root / "ca" / "auth" / "ca.pem"  # the authentication CA's root
    done = _verify(path, other)
    assert done.returncode == 1, done.stdout
    assert "does not chain to a trusted root" in done.stdout.splitlines()[0]
    assert "Chain to a trusted root: no" in done.stdout


def test_an_unsigned_pdf_and_a_missing_root_are_refused(tmp_path, world):
    from decimal import Decimal

    from examples.relying_party import contract, contract_pdf

    path = tmp_path / "unsigned.pdf"
    terms = contract.Terms("山田\u3000花子", 1, 35, Decimal("1.80"), 1, "SB-1")
    path.write_bytes(contract_pdf.render(terms))
    done = _verify(path, _root(world))
    assert done.returncode == 1
    assert "exactly one signature; this file has 0" in done.stdout
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\nnot really")
    assert _verify(garbage, _root(world)).returncode == 1
    no_root = subprocess.run(
        [sys.executable, "-m", "examples.relying_party", "--instance", str(tmp_path),
         "verify-contract", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert no_root.returncode == 2
    assert "no trusted root" in no_root.stderr


def test_the_bank_page_tells_the_loan_officer_what_the_file_proves(bank, idp, world):
    import requests

    with requests.Session() as browser:
        page = fetch_income(browser, bank, apply(browser, bank))
        review = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
        done = sign(browser, idp, world.card, review)
        report = session_data(bank, browser)["signed_contracts"][0]["report"]
        english = browser.get(bank.url + "/contract", params={"lang": "en"}).text
    assert report["valid"] is True
    assert 'id="check-verdict">有効です。契約書は署名後に変更されておらず' in done.text
    if report["level"] not in ("PAdES B-LT", "PAdES B-LTA"):  # today's signature says so
        assert 'id="check-revocation">なし<' in done.text
        assert "借主が転居や改姓をするまで" in done.text
        assert "Not included" in english
        assert "only until the borrower moves or changes their name" in english
    assert "Valid: the contract has not changed since it was signed" in english
    assert "Whole document signed</dt><dd>Yes" in english


def test_signing_twice_never_overwrites_a_signed_contract(bank, idp, world):
    """Two review pages (two tabs), both signed: the bank keeps both, the first unchanged; the
    IdP refuses to sign a signed document again, and the bank's file stays as it was."""
    import requests

    with requests.Session() as browser:
        page = fetch_income(browser, bank, apply(browser, bank))
        first = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
        second = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
        assert sign(browser, idp, world.card, first).url == bank.url + "/contract"
        kept = session_data(bank, browser)["signed_contracts"]
        first_id, first_pdf = kept[0]["document_id"], kept[0]["signed_pdf"]
        download = browser.get(bank.url + "/contract/signed.pdf").content

        again = sign_again(browser, idp, world, first)
        assert again.status_code == 409, again.text  # the IdP: signed already, once only
        assert 'data-reason="signed"' in again.text
        assert sign(browser, idp, world.card, second).url == bank.url + "/contract"
        kept = session_data(bank, browser)["signed_contracts"]
        assert kept[0]["document_id"] == first_id
        assert len(kept) == 2
        assert kept[0]["signed_pdf"] == first_pdf  # not replaced by the second signature
        params = {"document_id": first_id}
        assert browser.get(bank.url + "/contract/signed.pdf", params=params).content == download
        assert kept[1]["signed_pdf"] != first_pdf


def sign_again(browser, idp, world, review):
    """The first review page's script, run again after its document was signed."""
    base = review.url.split("?")[0].removesuffix("/review")
    token = csrf(review.text)
    prepared = browser.post(base + "/prepare", headers={"X-CSRF-Token": token})
    assert prepared.status_code == 403  # nothing to prepare for a signed document
    digest = b"\x00" * 32
    from tests.documents.conftest import card_result

    result = card_result(world.card, digest, origin=idp.url)
    return browser.post(base + "/result", data={"csrf_token": token, "result": result})
