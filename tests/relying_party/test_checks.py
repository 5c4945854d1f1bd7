"""The bank's own checks, one by one: logout tokens, the returned signature, DPoP nonces, and
its catalogue. Each forged or broken input is refused and changes nothing."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from flask import Flask, jsonify, request
from joserfc import jwt
from joserfc.jwk import ECKey

from examples.relying_party import contract, contract_pdf
from examples.relying_party.dpop import DPoPSigner
from examples.relying_party.settings import SIGNING_ALG
from idp.oidc.server import SERVER
from idp.services import services
from sandbox.server import free_port
from tests.oidc.live import serving
from tests.relying_party.conftest import apply, session_data

ROOT = Path(__file__).resolve().parents[2]
EVENT = {"http://schemas.openid.net/event/backchannel-logout": {}}


# --- back-channel logout tokens -------------------------------------------------------------------


def _logout_token(idp, bank, key=None, header=None, key_alg=SIGNING_ALG, **changes) -> str:
    """A logout token as the IdP signs it for the bank: its key of the bank's algorithm."""
    with idp.app.app_context():
        key = key or services(idp.app)[SERVER].services.ring().signing_key(key_alg)
    now = int(time.time())
    claims = {
        "iss": idp.url, "aud": bank.client_id, "iat": now, "exp": now + 120,
        "jti": secrets.token_urlsafe(16), "events": EVENT, "sid": "no-such-session",
    }  # fmt: skip
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    alg = "ES256" if isinstance(key, ECKey) else key.alg or "RS256"
    head = {"alg": alg, "kid": key.kid, "typ": "logout+jwt", **(header or {})}
    return jwt.encode(head, claims, key, algorithms=[alg])


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("foreign key", {"key": ECKey.generate_key("P-256", auto_kid=True)}),
        ("the IdP's key of an algorithm not registered", {"key_alg": "RS256"}),
        ("a nonce", {"nonce": "n"}),
        ("another audience", {"aud": "someone-else"}),
        ("another issuer", {"iss": "https://evil.example"}),
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700}),
        ("no event", {"events": {"urn:other": {}}}),
        ("no sid nor sub", {"sid": None}),
        ("an ID token's typ", {"header": {"typ": "JWT"}}),
    ],
)
def test_a_bad_logout_token_is_refused_and_ends_nothing(browser, bank, idp, case, kwargs):
    apply(browser, bank)
    sid = session_data(bank, browser)["idp_sid"]
    kwargs = {"sid": sid, **kwargs}
    answer = browser.post(
        bank.url + "/backchannel-logout", data={"logout_token": _logout_token(idp, bank, **kwargs)}
    )
    assert answer.status_code == 400, case
    assert answer.headers["Cache-Control"] == "no-store"
    assert session_data(bank, browser).get("login"), case


def test_a_good_logout_token_works_once(browser, bank, idp):
    apply(browser, bank)
    token = _logout_token(idp, bank, sid=session_data(bank, browser)["idp_sid"])
    first = browser.post(bank.url + "/backchannel-logout", data={"logout_token": token})
    assert first.status_code == 200
    assert session_data(bank, browser) == {}
    again = browser.post(bank.url + "/backchannel-logout", data={"logout_token": token})
    assert again.status_code == 400  # replayed jti


def test_a_logout_request_without_a_token_is_refused(browser, bank):
    assert browser.post(bank.url + "/backchannel-logout").status_code == 400


# --- the returned signature ---------------------------------------------------------------------


def _signer(name: str = "Signer") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, certificate


def _detached(document: bytes, key, certificate) -> bytes:
    return (
        pkcs7.PKCS7SignatureBuilder().set_data(document)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )  # fmt: skip


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_a_detached_signature_over_our_document_verifies():
    key, certificate = _signer()
    document = b"loan contract"
    verified = contract.verify_detached(_detached(document, key, certificate), document,
                                        _pem(certificate))  # fmt: skip
    assert verified.signer == "CN=Signer"


def test_a_signature_over_another_document_is_refused():
    key, certificate = _signer()
    cms = _detached(b"another contract", key, certificate)
    with pytest.raises(contract.SignatureRefused, match="messageDigest"):
        contract.verify_detached(cms, b"loan contract", _pem(certificate))


def test_a_reported_certificate_other_than_the_signers_is_refused():
    key, certificate = _signer()
    _, other = _signer("Someone else")
    cms = _detached(b"loan contract", key, certificate)
    with pytest.raises(contract.SignatureRefused, match="reported signer"):
        contract.verify_detached(cms, b"loan contract", _pem(other))


def test_a_corrupted_signature_is_refused():
    key, certificate = _signer()
    cms = bytearray(_detached(b"loan contract", key, certificate))
    cms[-10] ^= 0xFF  # inside the signature value, the last element
    with pytest.raises(contract.SignatureRefused):
        contract.verify_detached(bytes(cms), b"loan contract", _pem(certificate))


def test_garbage_is_refused_not_crashed_on():
    _, certificate = _signer()
    with pytest.raises(contract.SignatureRefused):
        contract.verify_detached(b"\x30\x03\x02\x01\x00", b"x", _pem(certificate))


def test_a_signed_pdf_that_is_not_our_pdf_plus_a_signature_is_refused():
    terms = contract.Terms("Yamada Hanako", 30_000_000, 35, Decimal("1.80"), 95_000, "SB-TEST")
    ours = contract_pdf.render(terms)
    theirs = contract_pdf.render(
        contract.Terms("Yamada Hanako", 90_000_000, 35, Decimal("1.80"), 1, "X")
    )
    with pytest.raises(contract.SignatureRefused, match="not our contract"):
        contract.verify_signed_pdf(theirs + b"%signature", ours, b"", "")


def test_the_contract_pdf_is_a_pdf_pyhanko_reads():
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    pdf = contract_pdf.render(contract.Terms("Yamada Hanako", 1, 35, Decimal("1.80"), 1, "SB-1"))
    assert PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"] == 1


# --- DPoP nonces --------------------------------------------------------------------------------


def test_the_dpop_helper_retries_once_with_the_servers_nonce(tmp_path):
    """Against the IdP's own DPoP verifier, demanding a nonce as RFC 9449 §8 allows."""
    import requests

    from idp.oidc.dpop import DPoP, UseDPoPNonceError
    from idp.storage.ephemeral import MemoryStore

    store = MemoryStore()
    verifier = DPoP("s" * 40, lambda: store)
    server = Flask(__name__)
    calls: list[bool] = []

    @server.post("/token")
    def token():
        try:
            verifier.verify(request.headers, "POST", request.base_url)
        except UseDPoPNonceError as e:
            calls.append(False)
            answer = jsonify(error="use_dpop_nonce")
            answer.status_code, answer.headers["DPoP-Nonce"] = 400, e.nonce
            return answer
        calls.append(True)
        return jsonify(ok=True)

    signer = DPoPSigner(ECKey.generate_key("P-256"))
    with serving(server, free_port()) as url:
        send = lambda headers: requests.post(url + "/token", headers=headers, timeout=5)  # noqa: E731
        assert signer.send("POST", url + "/token", send).json() == {"ok": True}
        assert calls == [False, True]
        assert signer.send("POST", url + "/token", send).status_code == 200
        assert calls == [False, True, True]  # the remembered nonce is used at once
    del tmp_path


# --- the catalogue ------------------------------------------------------------------------------


def test_every_text_of_the_bank_is_translated_and_nothing_is_stale():
    method_map = [
        ("examples/relying_party/**.py", "python"),
        ("examples/relying_party/templates/**.html", "jinja2"),
    ]
    found = extract_from_dir(str(ROOT), method_map=method_map)
    texts = {m if isinstance(m, str) else m[0] for _f, _l, m, _c, _x in found if m}
    path = ROOT / "examples/relying_party/translations/ja/LC_MESSAGES/messages.po"
    with path.open("rb") as f:
        catalogue = read_po(f)
    entries = {m.id: m for m in catalogue if m.id}
    assert not catalogue.fuzzy
    assert sorted(texts - entries.keys()) == []
    assert sorted(i for i, m in entries.items() if not m.string or m.fuzzy) == []
    assert sorted(entries.keys() - texts) == []


# --- words and numbers ----------------------------------------------------------------------------


def test_rates_and_ratios_are_exact_decimals():
    from examples.relying_party import affordability

    income = {"data": {"income": {"total": 6_000_000}}}
    household = {"data": {"members": [{"is_self": True}, {"is_self": False}]}}
    assessed = affordability.assess(income, household)
    assert assessed.ratio == Decimal("0.33")  # 0.35 - 0.02, not 0.32999999999999996
    assert assessed.monthly_capacity == 165_000
    assert affordability.percent(affordability.CONTRACT_RATE) == Decimal("1.80")
    terms = contract.Terms("x", 1, 35, affordability.percent(affordability.CONTRACT_RATE), 1, "R")
    assert terms.record()["rate_percent"] == "1.80"


@pytest.mark.parametrize(
    ("lang", "value", "shown"),
    [
        ("ja", 0, "1970年1月1日 09:00（日本時間）"),
        ("ja", "2026-12-07T18:42:48Z", "2026年12月8日 03:42（日本時間）"),
        ("en", "2026-12-07T18:42:48Z", "8 December 2026, 03:42 (Japan time)"),
        ("en", "2026-12-08T03:42:48+09:00", "8 December 2026, 03:42 (Japan time)"),
        ("ja", "2026-12-07T18:42:48", "2026-12-07T18:42:48"),  # no zone: not guessed
    ],
)
def test_times_are_shown_in_japan_time_with_the_time_of_day(bank, lang, value, shown):
    from examples.relying_party.words import japan_time

    with bank.app.test_request_context(f"/?lang={lang}"):
        assert japan_time(value) == shown


def test_the_signers_name_is_read_from_the_certificate_and_nothing_else(world):
    assert contract.holder_name(world.card.certificate) == "山田\u3000花子"
    assert contract.holder_name(world.card.auth_certificate) is None  # no name in it


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/", "en-US,en;q=0.9", "en"),
        ("/", "fr, ja;q=0.5", "ja"),
        ("/", "de", "ja"),
        ("/", "", "ja"),
        ("/?lang=ja", "en", "ja"),  # a choice wins over the browser
    ],
)
def test_the_bank_follows_the_browsers_language_without_a_choice(bank, path, accept, expected):
    from examples.relying_party.i18n import select_locale

    with bank.app.test_request_context(path, headers={"Accept-Language": accept}):
        assert select_locale() == expected
