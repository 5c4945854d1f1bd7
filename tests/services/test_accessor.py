"""Each app holds its own services, every one its packages build, behind ``services()``."""

from __future__ import annotations

import pytest

from idp import create_app
from idp.consent.decisions import CONSENT_SCREEN
from idp.documents.client_auth import CLIENT_AUTHENTICATION
from idp.documents.verification import DOCUMENT_VERIFIER
from idp.login.verification import CARD_VERIFIER, CRL_REFRESHER
from idp.metrics.views import EXPOSITION
from idp.oidc.approval import CONSENT_STEP
from idp.oidc.authenticator import AUTHENTICATOR
from idp.oidc.backchannel import COURIER
from idp.oidc.keys import KEY_RING
from idp.oidc.server import ERROR_PAGE, SERVER
from idp.services import AppServices, Service, services
from idp.storage.ephemeral import EPHEMERAL
from idp.storage.ratelimits import RATE_LIMITS
from idp.web.bridge import BRIDGE
from tests.conftest import idp_test_config

REQUIRED = (EPHEMERAL, RATE_LIMITS, BRIDGE, KEY_RING, SERVER, COURIER, AUTHENTICATOR,
            CONSENT_STEP, CONSENT_SCREEN, CLIENT_AUTHENTICATION, ERROR_PAGE)  # fmt: skip
"""What every app has, whatever its configuration (the error page: ``idp.errorpages``)."""


def _app(tmp_path, name: str):
    config = idp_test_config(f"sqlite:///{tmp_path}/{name}.sqlite3")
    return create_app(config, instance_path=str(tmp_path / name))


def test_every_service_a_package_builds_is_registered_by_create_app(tmp_path):
    held = services(_app(tmp_path, "one"))
    assert [service for service in REQUIRED if held.get(service) is None] == []
    # No trust anchors, no metrics token, a testing app: the optional ones are absent.
    optional = (CARD_VERIFIER, DOCUMENT_VERIFIER, EXPOSITION, CRL_REFRESHER)
    assert [held[service] for service in optional] == [None] * 4


def test_two_apps_do_not_share_services_and_the_current_app_is_the_default(tmp_path):
    one, two = _app(tmp_path, "one"), _app(tmp_path, "two")
    assert services(one) is not services(two)
    for service in (EPHEMERAL, SERVER, COURIER, KEY_RING):
        assert services(one)[service] is not services(two)[service]
    with two.app_context():
        assert services() is services(two)
        assert services().config is services(two).config


def test_a_required_service_nobody_registered_is_an_error_and_a_default_is_made_once():
    held = AppServices(config=None)  # type: ignore[arg-type]
    with pytest.raises(LookupError, match="authorization server"):
        _ = held[SERVER]
    cache: Service[list] = Service("cache", default=list)
    assert held[cache] is held[cache]
