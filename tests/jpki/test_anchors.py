"""Trust anchors from folders; test roots only where allowed (docs/jpki.md §4)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes

from idp.jpki.anchors import TrustAnchorError, TrustAnchors, load_folder
from idp.jpki.settings import CertificateType, JpkiSettings
from sandbox import pki
from sandbox.profiles import CertKind
from sandbox.state import pem

NOW = dt.datetime.now(dt.UTC)


def test_sandbox_roots_load_when_test_roots_are_allowed(state):
    roots = load_folder(state.trust_dir(CertKind.AUTH), allow_test_roots=True)
    assert [root.subject for root in roots] == [state.ca(CertKind.AUTH).certificate.subject]


def test_test_root_is_refused_by_default_settings(state):
    settings = JpkiSettings(trust_anchors={CertificateType.AUTH: state.trust_dir(CertKind.AUTH)})
    assert settings.allow_test_roots is False
    with pytest.raises(TrustAnchorError, match="JPKI-TEST"):
        TrustAnchors.from_settings(settings)


def test_production_named_root_loads_without_test_flag(tmp_path):
    root = pki.make_root(CertKind.AUTH, now=NOW, organization="JPKI")
    (tmp_path / "authca.pem").write_bytes(pem(root.certificate))
    assert load_folder(tmp_path, allow_test_roots=False)[0] == root.certificate


def test_several_roots_in_one_folder_all_load(tmp_path, auth_ca, foreign_ca):
    (tmp_path / "a.pem").write_bytes(pem(auth_ca.certificate))
    (tmp_path / "b.pem").write_bytes(pem(foreign_ca.certificate))
    assert len(load_folder(tmp_path, allow_test_roots=True)) == 2


def test_empty_or_missing_folder_refuses_to_start(tmp_path):
    with pytest.raises(TrustAnchorError):
        load_folder(tmp_path, allow_test_roots=True)
    with pytest.raises(TrustAnchorError):
        load_folder(tmp_path / "missing", allow_test_roots=True)


def test_card_certificate_is_not_an_anchor(tmp_path, auth_ca, card_key):
    leaf = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    (tmp_path / "leaf.pem").write_bytes(pem(leaf))
    with pytest.raises(TrustAnchorError):
        load_folder(tmp_path, allow_test_roots=True)


def test_garbage_pem_refuses_to_start(tmp_path):
    (tmp_path / "x.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    with pytest.raises(TrustAnchorError):
        load_folder(tmp_path, allow_test_roots=True)


def test_anchor_not_among_the_pinned_fingerprints_refuses_to_start(state):
    folders = {CertificateType.AUTH: state.trust_dir(CertKind.AUTH)}
    settings = JpkiSettings(trust_anchors=folders, allow_test_roots=True,
                            pinned_fingerprints=frozenset({"00" * 32}))  # fmt: skip
    with pytest.raises(TrustAnchorError, match="pinned"):
        TrustAnchors.from_settings(settings)


def test_pinned_anchor_loads(state):
    root = state.ca(CertKind.AUTH).certificate
    pin = root.fingerprint(hashes.SHA256()).hex()
    folders = {CertificateType.AUTH: state.trust_dir(CertKind.AUTH)}
    settings = JpkiSettings(
        trust_anchors=folders, allow_test_roots=True, pinned_fingerprints=frozenset({pin})
    )
    assert TrustAnchors.from_settings(settings).for_type(CertificateType.AUTH) == (root,)
