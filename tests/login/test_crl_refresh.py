"""CRLs stay current without an operator: a serving IdP refreshes ``[jpki] crl_urls`` itself,
and ``idp jpki crl-refresh`` does one round for cron. Against the sandbox's live CRL endpoint."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time

from click.testing import CliRunner

from idp.jpki.cli import jpki
from idp.jpki.crl import CrlStatusSource
from idp.jpki.errors import CertificateRevoked
from idp.jpki.settings import CertificateType
from idp.login.verification import CRL_REFRESHER
from idp.services import services
from sandbox.profiles import CertKind
from tests.login.conftest import jpki_settings

AUTH = CertificateType.AUTH


def _settings(world, tmp_path, **changes):
    urls = {AUTH: world.server.crl_url(CertKind.AUTH)}
    return jpki_settings(world.state, tmp_path, crl_urls=urls, **changes)


def test_a_serving_idp_loads_the_crl_by_itself(world, tmp_path):
    from tests.conftest import drop_schema, idp_test_config, make_app

    settings = _settings(world, tmp_path)
    config = idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3", jpki=settings)
    config = dataclasses.replace(config, environment="development")
    app = make_app(config, tmp_path / "instance")
    try:
        source = CrlStatusSource(settings.crl_index_dir, AUTH)
        assert source.next_update() is None
        app.test_client().get("/.well-known/openid-configuration")
        deadline = time.monotonic() + 20
        while source.next_update() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert source.next_update() is not None
        revoked = world.revoked.certificate.serial_number
        try:
            source.check(revoked, dt.datetime.now(dt.UTC))
        except CertificateRevoked:
            pass
        else:
            raise AssertionError("the revoked card is not on the CRL the IdP loaded")
    finally:
        services(app)[CRL_REFRESHER].stop()
        drop_schema(app)


def test_the_testing_environment_starts_no_refresher(card_app):
    assert services(card_app)[CRL_REFRESHER] is None


def test_crl_refresh_command_loads_then_skips_until_due(world, tmp_path):
    settings = _settings(world, tmp_path)
    first = CliRunner().invoke(jpki, ["crl-refresh"], obj=settings)
    assert first.exit_code == 0, first.output
    [line] = [json.loads(x) for x in first.output.splitlines()]
    assert line["type"] == "auth"
    assert line["refreshed"] is True
    assert line["next_update"]
    again = CliRunner().invoke(jpki, ["crl-refresh"], obj=settings)
    assert json.loads(again.output)["refreshed"] is False
    forced = CliRunner().invoke(jpki, ["crl-refresh", "--force"], obj=settings)
    assert json.loads(forced.output)["refreshed"] is True


def test_crl_refresh_command_reports_a_refused_crl_and_exits_1(world, tmp_path):
    settings = _settings(world, tmp_path)
    world.server.behave(crl="wrong_key", kind=CertKind.AUTH)
    try:
        result = CliRunner().invoke(jpki, ["crl-refresh"], obj=settings)
    finally:
        world.server.behave(crl="normal", kind=CertKind.AUTH)
    assert result.exit_code == 1
    line = json.loads(result.output.splitlines()[0])
    assert line["refreshed"] is False
    assert line["refused"]
    assert line["next_update"] is None


def test_crl_refresh_without_urls_is_an_error(world, tmp_path):
    result = CliRunner().invoke(jpki, ["crl-refresh"], obj=jpki_settings(world.state, tmp_path))
    assert result.exit_code != 0
    assert "crl_urls" in result.output


def test_crl_refresh_with_the_crl_server_down_is_refused_and_exits_1(world, tmp_path):
    from sandbox.server import free_port

    down = {AUTH: f"http://127.0.0.1:{free_port()}/crl/auth.crl"}
    settings = jpki_settings(world.state, tmp_path, crl_urls=down, crl_timeout=2.0)
    result = CliRunner().invoke(jpki, ["crl-refresh"], obj=settings)
    assert result.exit_code == 1
    line = json.loads(result.output.splitlines()[0])
    assert line["refused"] == "responder_unavailable"
    assert line["next_update"] is None
