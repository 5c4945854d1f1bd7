"""No malformed input raises anything but the JpkiValidationError family.

Hypothesis feeds random and mutated certificates, OCSP responses, CRLs, signatures, challenges
and bridge results to the parsers; the only acceptable outcomes are a result or our exception.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.jpki import profile
from idp.jpki.bridge import BridgeResult, PairResult
from idp.jpki.certificate import load_certificate
from idp.jpki.challenge import Challenges
from idp.jpki.crl_ingest import Expectation, ingest
from idp.jpki.document import DocumentPairResult, DocumentResult
from idp.jpki.errors import JpkiValidationError
from idp.jpki.facts import read_basic_four_facts
from idp.jpki.ocsp import OcspService
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.signature import canonical_origin, verify_signature
from idp.storage.ephemeral import MemoryStore
from sandbox import ocsp as sandbox_ocsp
from sandbox import pki
from sandbox.crl import CrlEntry, make_crl
from sandbox.profiles import CertKind

NOW = dt.datetime.now(dt.UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def samples(sign_ca, auth_ca, card_key):
    sign = pki.make_sign_certificate(sign_ca, card_key.public_key(), now=NOW)
    auth = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    nonce = bytes(32)
    response = sandbox_ocsp.make_ocsp_response(auth_ca, auth, nonce=nonce, now=NOW)
    crl = make_crl(auth_ca, [CrlEntry(n, NOW.replace(microsecond=0)) for n in range(1, 6)], now=NOW)
    return {
        "sign": sign.public_bytes(serialization.Encoding.DER),
        "auth": auth,
        "response": response,
        "crl": crl,
        "issuer": auth_ca.certificate,
    }


def mutate(data: bytes):
    """Flip, cut, or splice bytes of a valid encoding: near misses find more than noise."""
    return st.one_of(
        st.binary(max_size=len(data) + 16),
        st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)).map(
            lambda change: data[: change[0]] + bytes([change[1]]) + data[change[0] + 1 :]
        ),
        st.integers(0, len(data)).map(lambda cut: data[:cut]),
        st.tuples(st.integers(0, len(data)), st.binary(max_size=8)).map(
            lambda insert: data[: insert[0]] + insert[1] + data[insert[0] :]
        ),
    )


def test_mutated_certificates_raise_only_our_errors(samples):
    @FUZZ
    @given(mutate(samples["sign"]))
    def check(data: bytes) -> None:
        try:
            certificate = load_certificate(data)
            profile.check_profile(certificate, CertificateType.SIGN, allow_test_policy=True)
            read_basic_four_facts(certificate)
        except JpkiValidationError:
            pass

    check()


def test_mutated_ocsp_responses_raise_only_our_errors(samples):
    service = OcspService(JpkiSettings(), None, MemoryStore())  # type: ignore[arg-type]
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(
            samples["auth"],
            samples["issuer"],
            __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA1"]).SHA1(),
        )
        .build()
    )

    @FUZZ
    @given(mutate(samples["response"]))
    def check(data: bytes) -> None:
        with contextlib.suppress(JpkiValidationError):
            service.validate(data, request, samples["issuer"], bytes(32), "http://x", NOW)

    check()


def test_mutated_crls_raise_only_our_errors(samples, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-crl")

    @FUZZ
    @given(mutate(samples["crl"]))
    def check(data: bytes) -> None:
        with contextlib.suppress(JpkiValidationError):
            ingest(io.BytesIO(data), folder / "auth-full.idx", (samples["issuer"],),
                   Expectation(False, NOW, dt.timedelta(minutes=5))).close()  # fmt: skip

    check()


@FUZZ
@given(st.binary(max_size=300))
def test_random_signatures_raise_only_bad_signature(samples, signature):
    with pytest.raises(JpkiValidationError):
        verify_signature(samples["auth"], signature, "https://idp.example.jp", bytes(32))


@FUZZ
@given(st.one_of(st.text(max_size=60), st.none(), st.integers(), st.binary(max_size=50)))
def test_random_challenges_raise_only_our_errors(text):
    with contextlib.suppress(JpkiValidationError):
        Challenges(MemoryStore()).consume("t", text, NOW)  # type: ignore[arg-type]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=9)
    ),
    max_leaves=20,
)


@FUZZ
@given(st.one_of(JSON.map(json.dumps), st.text(max_size=200), st.binary(max_size=200)))
def test_random_bridge_results_raise_only_our_errors(data):
    with contextlib.suppress(JpkiValidationError):
        BridgeResult.parse(data)


@FUZZ
@given(st.fixed_dictionaries({
    "version": st.sampled_from([1, 1.0, True, "1"]), "purpose": st.sampled_from(["login", 1]),
    "origin": st.text(max_size=30), "challenge": st.text(max_size=50),
    "certificate": st.text(max_size=30), "signature": st.text(max_size=30),
    "algorithm": st.sampled_from(["RS256", None]), "format": st.just("jpki-origin-challenge-v1"),
}))  # fmt: skip
def test_nearly_valid_bridge_results_raise_only_our_errors(body):
    with contextlib.suppress(JpkiValidationError):
        BridgeResult.parse(body)


@FUZZ
@given(st.text(max_size=80))
def test_random_origins_raise_only_malformed(origin):
    with contextlib.suppress(JpkiValidationError):
        canonical_origin(origin)


def test_sample_kind_is_sign(samples):
    assert CertKind.SIGN == "sign"
    assert samples["sign"]


WELL_FORMED = {
    "version": 1, "origin": "https://idp.example.jp", "certificate": "AAAA", "signature": "AAAA",
    "algorithm": "RS256",
}  # fmt: skip
LOGIN = {**WELL_FORMED, "purpose": "login", "challenge": "A" * 42 + "E",
         "format": "jpki-origin-challenge-v1"}  # fmt: skip
DOCUMENT = {**WELL_FORMED, "purpose": "document", "digest": "A" * 42 + "E",
            "format": "jpki-sha256-digest-v1"}  # fmt: skip


PAIR = {"authentication_certificate": "AAAA", "authentication_signature": "AAAA", "version": 2}
IDENTITY_PAIR = {**LOGIN, **PAIR, "purpose": "identity", "format": "jpki-origin-challenge-pair-v2"}
DOCUMENT_PAIR = {**DOCUMENT, **PAIR, "format": "jpki-sha256-digest-pair-v2"}


@pytest.mark.parametrize(
    ("parse", "valid"),
    [(BridgeResult.parse, LOGIN), (DocumentResult.parse, DOCUMENT),
     (PairResult.parse, IDENTITY_PAIR), (DocumentPairResult.parse, DOCUMENT_PAIR)],
)  # fmt: skip
@FUZZ
@given(data=st.data())
def test_any_json_in_any_member_of_a_result_is_malformed_at_worst(parse, valid, data):
    """One member replaced by any JSON value (an object, a list, a float for the version …),
    given as the object or as its JSON text: the parser answers Malformed, nothing else."""
    member = data.draw(st.sampled_from(sorted(valid)))
    body = {**valid, member: data.draw(JSON)}
    for given_as in (body, json.dumps(body)):
        with contextlib.suppress(JpkiValidationError):
            parse(given_as)


@pytest.mark.parametrize(
    "parse",
    [BridgeResult.parse, DocumentResult.parse, PairResult.parse, DocumentPairResult.parse],
)
@FUZZ
@given(body=JSON)
def test_any_json_body_is_malformed_at_worst(parse, body):
    with contextlib.suppress(JpkiValidationError):
        parse(json.dumps(body))
