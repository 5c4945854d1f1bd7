"""The provider's commands: ``idp keys …``, ``idp client …`` and ``idp tokens purge``.

``init_app`` adds these groups to the app's commands. They run inside the app built from
IDP_CONFIG and IDP_* variables; their output for scripts is one JSON object per line. The ones
that change something leave an ``admin.command`` audit line (``audit.audited``).
"""

from __future__ import annotations

import json
import time

import click
from flask.cli import AppGroup

from ..audit import audited
from ..config import SIGNING_ALGORITHMS
from ..oidc.keys import KEY_RING
from ..services import services
from ..storage import db as storage_db
from ..storage.db import schema_is_current
from . import clients, fapi, keys, purge, sealer
from .auth_methods import AUTH_METHODS


def _config():
    return services().config


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, separators=(",", ":"), sort_keys=True))


@click.group("keys", cls=AppGroup)
def keys_group() -> None:
    """Token-signing keys."""


@keys_group.command("list")
def keys_list() -> None:
    """One line per key: kid, alg, state and its times (never the private part)."""
    keys.ensure_keys(_config(), sealer(), int(time.time()))
    for row in keys.SigningKey.query.order_by(keys.SigningKey.alg, keys.SigningKey.created_at):
        _emit(
            {
                "kid": row.kid,
                "alg": row.alg,
                "state": row.state,
                "created_at": row.created_at,
                "activated_at": row.activated_at,
                "retire_at": row.retire_at,
            }
        )


@audited
@keys_group.command("rotate")
@click.option("--force", is_flag=True, help="Promote next keys even if published too recently.")
def keys_rotate(force: bool) -> None:
    """Next keys start signing, current keys retire, new next keys are published."""
    try:
        rows = keys.rotate(_config(), sealer(), int(time.time()), force=force)
    except keys.RotationRefused as e:
        raise click.ClickException(f"{e} (wait, or pass --force)") from None
    services()[KEY_RING].forget()
    for row in rows:
        _emit({"kid": row.kid, "alg": row.alg, "state": row.state})


@click.group("client", cls=AppGroup)
def client_group() -> None:
    """Relying-party clients."""


@audited
@client_group.command("add")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--jwks-file", type=click.File("r"))
@click.option("--jwks-uri")
@click.option("--auth-method", required=True, type=click.Choice(AUTH_METHODS))
@click.option("--require-par", is_flag=True)
@click.option("--require-dpop", is_flag=True)
@click.option("--subject-type", default="pairwise", type=click.Choice(clients.SUBJECT_TYPES))
@click.option("--sector-identifier-uri")
@click.option("--backchannel-logout-uri")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option(
    "--trust-framework",
    type=click.Choice(clients.TRUST_FRAMEWORKS),
    help="Law the service verifies identities under (verified claims): jp_aml, jp_mpiupa.",
)
@click.option("--purpose", help="The service's stated purpose, shown on the consent screen.")
@click.option("--name-ja", help="The name on Japanese pages (client_name#ja); else --name.")
@click.option("--name-en", help="The name on English pages (client_name#en); else --name.")
@click.option("--purpose-ja", help="The purpose on Japanese pages (purpose#ja); else --purpose.")
@click.option("--purpose-en", help="The purpose on English pages (purpose#en); else --purpose.")
@click.option("--retention-days", type=int, help="How many days the service keeps the data.")
@click.option(
    "--pades-level", type=click.Choice(clients.PADES_LEVELS),
    help="PAdES level of its signed PDFs (default: B-LT where the IdP has a TSA, else B-B).",
)  # fmt: skip
@click.option(
    "--scope",
    help='Scopes the service may ask for, e.g. "openid selfinfo:income" (default: all).',
)
@click.option(
    "--id-token-alg",
    "id_token_signed_response_alg",
    type=click.Choice(SIGNING_ALGORITHMS),
    help="Algorithm of its ID tokens and access tokens (default: keys.default_algorithm, "
    "RS256). FAPI 2.0 clients, the only ones production registers, need PS256 or ES256.",
)
def client_add(name, redirect_uris, jwks_file, jwks_uri, auth_method, **policy) -> None:
    """Register a client; print one JSON line with client_id (and client_secret if any)."""
    tagged = {
        f"{field}#{language}": policy.pop(f"{option}_{language}")
        for field, option in (("client_name", "name"), ("purpose", "purpose"))
        for language in ("ja", "en")
    }
    try:
        jwks = json.load(jwks_file) if jwks_file else None
        client, secret = clients.register_client(
            name,
            list(redirect_uris),
            auth_method,
            jwks=jwks,
            jwks_uri=jwks_uri,
            post_logout_redirect_uris=list(policy.pop("post_logout_redirect_uris")),
            production=_config().environment == "production",
            localized={k: v for k, v in tagged.items() if v is not None},
            **policy,
        )
    except json.JSONDecodeError as e:
        raise click.ClickException(f"--jwks-file is not JSON ({e})") from None
    except clients.ClientRejected as e:
        raise click.ClickException(str(e)) from None
    if lacks := fapi.stored_client_shortfalls(client, _config().keys):
        click.echo(
            "warning: not a FAPI 2.0 client, accepted outside production only; production "
            f"would refuse it and refuse to start while it is stored. It needs {'; '.join(lacks)}",
            err=True,
        )
    out = {"client_id": client.client_id, "token_endpoint_auth_method": auth_method}
    if secret:
        out["client_secret"] = secret
    _emit(out)


@client_group.command("list")
def client_list() -> None:
    """One JSON line per client."""
    for c in storage_db.db.session.execute(storage_db.db.select(clients.Client)).scalars():
        _emit(
            {
                "client_id": c.client_id,
                "name": c.name,
                "token_endpoint_auth_method": c.token_endpoint_auth_method,
            }
        )


@client_group.command("show")
@click.argument("client_id")
def client_show(client_id: str) -> None:
    """Everything about one client except its secret."""
    client = clients.find_client(client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    _emit(client.describe())


@audited
@client_group.command("remove")
@click.argument("client_id")
def client_remove(client_id: str) -> None:
    """Delete a client; its tokens stop validating with it."""
    if not clients.remove_client(client_id):
        raise click.ClickException(f"no client {client_id}")
    _emit({"client_id": client_id, "removed": True})


@click.group("tokens", cls=AppGroup)
def tokens_group() -> None:
    """Token families: clean-up."""


@audited
@tokens_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@click.option(
    "--batch-size", type=click.IntRange(1, 10_000), default=purge.BATCH_SIZE, show_default=True,
    help="Families per statement and transaction.",
)  # fmt: skip
def purge_command(dry_run: bool, batch_size: int) -> None:
    """Delete token families expired or revoked more than five minutes ago, with their refresh
    tokens; one JSON line of counts. Safe to run on several nodes, and repeatedly."""
    if not schema_is_current():
        raise click.ClickException("the database schema is not current: run `idp db upgrade`")
    done = purge.purge(int(time.time()), batch_size, dry_run)
    out = {"families": done.families, "refresh_tokens": done.refresh_tokens, "dry_run": dry_run}
    click.echo(json.dumps(out, separators=(",", ":"), sort_keys=True))


COMMANDS = (keys_group, client_group, tokens_group)
"""What ``init_app`` adds to the app's commands."""
