"""A client's scope allow-list: an operator can keep a login-only service from even asking for
self-information. Requests are cut down to the allowed scopes (RFC 6749 §3.3), so the consent
screen never lists what the client may not have."""

from __future__ import annotations

import pytest

from idp.consent.decisions import CONSENT_SCREEN, ConsentRequest
from idp.oidc.clients import ClientRejected, check_scope, register_client
from idp.services import services
from tests.oidc.rp import RelyingParty
from tests.oidc.test_cli import _lines, idp  # noqa: F401 (the CLI fixture)
from tests.oidc.test_registration import _register


def _client(provider, scope):
    http = provider.test_client()
    with provider.app_context():
        client, secret = register_client(
            "Login only", ["https://rp.example/cb"], "client_secret_basic", scope=scope
        )
        client_id = client.client_id
    return RelyingParty(http, client_id, "https://rp.example/cb", secret=secret)


class Seen:
    def __init__(self) -> None:
        self.requests: list[ConsentRequest] = []

    def begin(self, request: ConsentRequest):
        from tests.cardless import CardlessConsentScreen

        self.requests.append(request)
        return CardlessConsentScreen().begin(request)


def test_a_login_only_client_cannot_ask_for_self_information(provider):
    screen = services(provider)[CONSENT_SCREEN] = Seen()
    rp = _client(provider, "openid")
    token = rp.tokens(scope="openid selfinfo:income")
    assert token["scope"] == "openid"
    assert [i.id for i in screen.requests[0].items] == ["openid"]


def test_an_allowed_category_is_asked_and_others_are_dropped(provider):
    screen = services(provider)[CONSENT_SCREEN] = Seen()
    rp = _client(provider, "openid selfinfo:income")
    token = rp.tokens(scope="openid selfinfo:income selfinfo:pension")
    assert token["scope"] == "openid selfinfo:income"
    assert [i.id for i in screen.requests[0].items] == ["openid", "selfinfo:income"]


def test_without_a_list_every_supported_scope_is_allowed():
    assert "selfinfo:household" in check_scope(None).split()


@pytest.mark.parametrize("scope", ["selfinfo:income", "openid selfinfo:everything", "", "openid x"])
def test_an_unknown_scope_or_no_openid_is_refused(scope):
    with pytest.raises(ClientRejected):
        check_scope(scope)


def test_idp_client_add_takes_a_scope_list(idp):  # noqa: F811
    code, out = idp(
        "client", "add", "--name", "Carrier", "--redirect-uri", "https://carrier.example/cb",
        "--auth-method", "client_secret_basic", "--scope", "openid selfinfo:household",
    )  # fmt: skip
    assert code == 0, out
    client_id = _lines(out)[0]["client_id"]
    shown = _lines(idp("client", "show", client_id)[1])[0]
    assert shown["scope"] == "openid selfinfo:household"
    refused, message = idp(
        "client", "add", "--name", "X", "--redirect-uri", "https://x.example/cb",
        "--auth-method", "client_secret_basic", "--scope", "selfinfo:income",
    )  # fmt: skip
    assert refused == 1
    assert "openid" in message


def test_dynamic_registration_keeps_the_scope_list(registrar):
    body = {
        "redirect_uris": ["https://x.example/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid selfinfo:income",
    }
    registered = _register(registrar, body)
    assert registered.status_code == 201, registered.json
    assert registered.json["scope"] == "openid selfinfo:income"
    refused = _register(registrar, {**body, "scope": "selfinfo:income"})
    assert refused.status_code == 400
    assert refused.json["error"] == "invalid_client_metadata"
