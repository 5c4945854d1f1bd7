"""Each app's revocation services report to that app's own observers: nothing is set on the JPKI
core's classes, so another app, a command or a test in the same process does not count into
(or through) them. Against the sandbox's live OCSP responder."""

# ruff: noqa: F811 - test functions take fixtures imported from the suites they reuse

from __future__ import annotations

import datetime as dt

from idp.documents.verification import DOCUMENT_VERIFIER
from idp.jpki.factory import NO_OCSP_CACHE, build_validator
from idp.jpki.validator import Purpose
from idp.login.verification import CARD_VERIFIER
from idp.metrics.observers import RevocationMetrics
from idp.services import services
from tests.login.conftest import (  # noqa: F401 - fixtures of the card login's world
    database_url,
    jpki_settings,
    world,
)
from tests.metrics.conftest import scrape

OCSP = "jpki_idp_ocsp_requests_total"
GOOD = {"type": "auth", "outcome": "good"}


def _ocsp_services(app):
    login = services(app)[CARD_VERIFIER].validator.revocation.ocsp
    documents = services(app)[DOCUMENT_VERIFIER].validator.revocation.ocsp
    return login, documents


def test_two_apps_in_one_process_do_not_share_observers(card_app, world, tmp_path):
    from idp import create_app
    from tests.conftest import idp_test_config

    config = idp_test_config(
        f"sqlite:///{tmp_path}/other.sqlite3", jpki=jpki_settings(world.state, tmp_path)
    )
    other = create_app(config, instance_path=str(tmp_path / "other-instance"))
    mine, theirs = _ocsp_services(card_app), _ocsp_services(other)
    observers = [service.observer for service in (*mine, *theirs)]
    assert all(isinstance(observer, RevocationMetrics) for observer in observers)
    assert len({id(observer) for observer in observers}) == 4


def test_a_validator_built_without_an_observer_counts_nothing(card_app, world):
    now = dt.datetime.now(dt.UTC)
    settings = services(card_app).config.jpki
    before = scrape(card_app)
    build_validator(settings, NO_OCSP_CACHE).validate(world.good.certificate, Purpose.LOGIN, now)
    middle = scrape(card_app)
    assert middle[OCSP, GOOD] == before[OCSP, GOOD]
    validator = services(card_app)[CARD_VERIFIER].validator
    validator.validate(world.good.certificate, Purpose.LOGIN, now)
    assert scrape(card_app)[OCSP, GOOD] == middle[OCSP, GOOD] + 1
