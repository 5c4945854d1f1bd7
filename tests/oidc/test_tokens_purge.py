"""``idp tokens purge``: token families expired or revoked more than ``GRACE`` ago go, with their
refresh tokens; live ones and freshly dead ones stay; dry runs change nothing; batches re-check
their condition, so several nodes may run it at once. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from sqlalchemy import func, select

from idp.oidc import refresh
from idp.oidc.cli import tokens_group as tokens
from idp.oidc.purge import GRACE, dead, delete_batch, purge
from idp.storage.db import db
from idp.storage.models import RefreshToken, TokenFamily

NOW = int(time.time())
LONG_AGO = NOW - 10 * 86400


@pytest.fixture
def database_url(any_database_url):
    return any_database_url


def _family(app, expires_at: int, revoked_at: int | None = None, tokens: int = 2) -> str:
    """A family with ``tokens`` refresh tokens, written as the token endpoint writes them."""
    with app.app_context():
        family_id = refresh.new_family("client", "sub", "openid", {"sid": None}, 1, "jti")
        for _ in range(tokens):
            refresh.add_token(family_id, secrets.token_urlsafe(32))
        db.session.get(TokenFamily, family_id).expires_at = expires_at
        db.session.get(TokenFamily, family_id).revoked_at = revoked_at
        db.session.commit()
        return family_id


def _families(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(TokenFamily.id)))


def _tokens(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(RefreshToken))


def _purge(app, **options):
    with app.app_context():
        return purge(NOW, **options)


def _refresh(rp, refresh_token: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post("/token", data=form, headers=headers)


def test_dead_families_go_with_their_tokens_and_live_ones_keep_working(provider, rp):
    live = rp.tokens()["refresh_token"]
    expired = _family(provider, LONG_AGO)
    revoked = _family(provider, NOW + 3600, revoked_at=NOW - GRACE - 1, tokens=3)
    just_expired = _family(provider, NOW - GRACE + 30)
    just_revoked = _family(provider, NOW + 3600, revoked_at=NOW - 10)
    kept = _families(provider) - {expired, revoked}
    assert {just_expired, just_revoked} <= kept
    tokens_before = _tokens(provider)

    done = _purge(provider)
    assert (done.families, done.refresh_tokens) == (2, 5)
    assert _families(provider) == kept
    assert _tokens(provider) == tokens_before - 5
    assert _refresh(rp, live).status_code == 200  # the live family is untouched


def test_a_refresh_token_of_a_purged_family_is_refused_as_before(provider, rp):
    family = rp.tokens()["refresh_token"]
    with provider.app_context():
        row = db.session.get(RefreshToken, refresh.digest(family))
        row.family.revoked_at = LONG_AGO
        db.session.commit()
    before = _refresh(rp, family)
    assert _purge(provider).families == 1
    after = _refresh(rp, family)
    assert before.status_code == after.status_code == 400
    assert before.json["error"] == after.json["error"] == "invalid_grant"


def test_a_dry_run_counts_what_a_run_deletes_and_changes_nothing(provider):
    for _ in range(3):
        _family(provider, LONG_AGO)
    _family(provider, NOW + 3600)
    families, count = _families(provider), _tokens(provider)
    dry = _purge(provider, dry_run=True)
    assert (dry.families, dry.refresh_tokens) == (3, 6)
    assert (_families(provider), _tokens(provider)) == (families, count)
    done = _purge(provider)
    assert (done.families, done.refresh_tokens) == (3, 6)
    again = _purge(provider)
    assert (again.families, again.refresh_tokens) == (0, 0)


def test_more_families_than_a_batch_are_all_deleted(provider):
    for _ in range(5):
        _family(provider, LONG_AGO, tokens=1)
    assert _purge(provider, batch_size=2).families == 5
    assert _families(provider) == set()


def test_rows_another_node_deleted_meanwhile_count_once(provider):
    """Two nodes selected the same batch: the second one's re-checked DELETEs find nothing,
    count nothing and stop; the first one's counts are the truth."""
    ids = [_family(provider, LONG_AGO) for _ in range(3)]
    with provider.app_context():
        selected = list(db.session.scalars(select(TokenFamily.id).where(dead(NOW))))
        assert sorted(selected) == sorted(ids)
        other = purge(NOW)  # the other node, between this one's selection and its DELETEs
        late = delete_batch(selected, dead(NOW))
        db.session.commit()
    assert (other.families, other.refresh_tokens) == (3, 6)
    assert late == (0, 0)


def test_a_family_that_is_alive_again_by_the_delete_is_kept(provider):
    """The DELETEs repeat the condition: a row that no longer meets it when they run (here:
    selected under a later clock) is left alone, and so are its refresh tokens."""
    family = _family(provider, NOW + 60)
    with provider.app_context():
        assert delete_batch([family], dead(NOW)) == (0, 0)
        db.session.commit()
    assert family in _families(provider)
    assert _tokens(provider) == 2


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_the_command_prints_one_json_line_of_counts(provider):
    _family(provider, LONG_AGO)
    runner = provider.test_cli_runner()
    dry = runner.invoke(tokens, ["purge", "--dry-run"], catch_exceptions=False)
    assert _lines(dry.output) == [{"dry_run": True, "families": 1, "refresh_tokens": 2}]
    done = runner.invoke(tokens, ["purge", "--batch-size", "1"], catch_exceptions=False)
    assert _lines(done.output) == [{"dry_run": False, "families": 1, "refresh_tokens": 2}]


@pytest.mark.parametrize("size", ["0", "-1", "many", "10001"])
def test_the_command_refuses_a_bad_batch_size_and_changes_nothing(provider, size):
    _family(provider, LONG_AGO)
    families = _families(provider)
    result = provider.test_cli_runner().invoke(tokens, ["purge", "--batch-size", size])
    assert result.exit_code == 2
    assert "--batch-size" in result.output
    assert _families(provider) == families


def test_the_command_refuses_a_schema_that_is_not_current(provider):
    from flask_migrate import downgrade

    from idp.storage.db import MIGRATIONS

    with provider.app_context():
        downgrade(directory=str(MIGRATIONS), revision="-1")
    result = provider.test_cli_runner().invoke(tokens, ["purge"])
    assert result.exit_code == 1
    assert "idp db upgrade" in result.output


def test_idp_tokens_purge_is_a_command_of_idp(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from idp.cli import main

    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("IDP_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.setenv("IDP_ENV", "development")

    def idp(*args):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    code, out = idp("tokens", "purge", "--dry-run")
    assert code == 1
    assert "idp db upgrade" in out  # an old schema is refused, nothing is touched
    assert idp("db", "upgrade")[0] == 0
    code, out = idp("tokens", "purge")
    assert code == 0
    assert _lines(out) == [{"dry_run": False, "families": 0, "refresh_tokens": 0}]
