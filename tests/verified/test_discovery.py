"""Discovery advertises verified claims exactly as ``verified_claims`` releases them."""

from __future__ import annotations

from authlib.oidc.discovery import OpenIDProviderMetadata

from idp.oidc.verified_claims import CLAIM_ITEMS


def test_discovery_states_what_verified_claims_can_be_released(provider):
    doc = provider.test_client().get("/.well-known/openid-configuration").json
    OpenIDProviderMetadata(doc).validate()
    assert doc["verified_claims_supported"] is True
    assert doc["trust_frameworks_supported"] == ["jp_aml", "jp_mpiupa"]
    assert doc["evidence_supported"] == ["electronic_signature"]
    assert set(doc["claims_in_verified_claims_supported"]) == {
        "name", "family_name", "given_name", "address", "birthdate", "gender",
    }  # fmt: skip
    assert set(doc["claims_in_verified_claims_supported"]) == set(CLAIM_ITEMS)
    assert doc["claims_parameter_supported"] is True
    assert "documents_supported" not in doc  # no document evidence: not advertised
