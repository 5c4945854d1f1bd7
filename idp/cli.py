"""The ``idp`` command (issue 5 §5): run, db, keys, client — all on the configuration of ``run``.

Built on Flask's ``FlaskGroup`` so every command runs inside the app built by ``create_app()``
from IDP_CONFIG and IDP_* variables; ``idp db …`` is Flask-Migrate's group. Output meant for
scripts is one JSON object per line.
"""

from __future__ import annotations

import functools
import json
import time

import click
from cryptography import x509
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo
from flask_migrate.cli import db as migrate_cli
from werkzeug.serving import WSGIRequestHandler, run_simple
from werkzeug.urls import uri_to_iri

from . import audit, create_app, logs
from .config import SIGNING_ALGORITHMS, ConfigError
from .documents.retention import documents as documents_cli
from .jpki.cli import jpki as jpki_cli
from .oidc import clients, fapi, key_ring, keys, sealer
from .oidc.auth_methods import AUTH_METHODS
from .oidc.purge import tokens as tokens_cli
from .selfinfo.cli import selfinfo as selfinfo_cli
from .storage import db as storage_db


def _app():
    """Build the app, turning a refused configuration into a one-line error, not a traceback.
    Every command logs JSON lines to stderr (its output for scripts is on stdout)."""
    logs.configure()
    try:
        return create_app()
    except ConfigError as e:
        raise click.ClickException(f"configuration refused: {e}") from None


main = FlaskGroup(
    create_app=_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="The jpki-idp OpenID Connect provider.",
)


def _config():
    return current_app.extensions["idp.config"]


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, separators=(",", ":"), sort_keys=True))


class PathOnlyLog(WSGIRequestHandler):
    """The development server's access log without query strings: authorization codes, states,
    ``request_uri`` and ``id_token_hint`` (with the citizen's pairwise subject) travel there."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        with logs.serving(self.__dict__.get("environ", {}).get("HTTP_X_REQUEST_ID")):
            self._log_request(code, size)

    def _log_request(self, code: int | str, size: int | str) -> None:
        if (full := self.__dict__.get("path")) is not None:  # the environ is built: no later use
            self.path = full.partition("?")[0]
        self.requestline = self.requestline.partition("?")[0]  # logged if it was unparsable
        try:
            text = f"{self.command} {uri_to_iri(self.path)} {self.request_version}"
        except AttributeError:  # the request line was unparsable: no path
            text = self.requestline
        # werkzeug's own log_request would wrap the text in ANSI colours: not in a JSON line.
        self.log("info", '"%s" %s %s', text.translate(self._control_char_table), code, size)


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Serve the IdP (development server; use a WSGI server such as gunicorn in production)."""
    if not _config().database.url:
        storage_db.upgrade()  # the zero-configuration SQLite file: create or update its schema
    elif not storage_db.schema_is_current():
        raise click.ClickException("the database schema is not current: run `idp db upgrade`")
    if _config().environment == "production":
        if why := fapi.non_fapi_refusal(_config().keys):
            raise click.ClickException(why)
        click.echo(
            "idp run uses the development server; serve production with a WSGI server, "
            "e.g. gunicorn -c idp/gunicorn_conf.py idp.wsgi:app (docs/operators.md)",
            err=True,
        )
    try:
        keys.check_secret(sealer())
    except keys.SecretMismatch as e:
        raise click.ClickException(str(e)) from None
    keys.ensure_keys(_config(), sealer(), int(time.time()))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host, port, app, threaded=True, request_handler=PathOnlyLog)


@main.group("keys")
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


@keys_group.command("rotate")
@click.option("--force", is_flag=True, help="Promote next keys even if published too recently.")
def keys_rotate(force: bool) -> None:
    """Next keys start signing, current keys retire, new next keys are published."""
    try:
        rows = keys.rotate(_config(), sealer(), int(time.time()), force=force)
    except keys.RotationRefused as e:
        raise click.ClickException(f"{e} (wait, or pass --force)") from None
    key_ring().forget()
    for row in rows:
        _emit({"kid": row.kid, "alg": row.alg, "state": row.state})


@main.group("client")
def client_group() -> None:
    """Relying-party clients."""


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
@click.option("--retention-days", type=int, help="How many days the service keeps the data.")
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


@client_group.command("remove")
@click.argument("client_id")
def client_remove(client_id: str) -> None:
    """Delete a client; its tokens stop validating with it."""
    if not clients.remove_client(client_id):
        raise click.ClickException(f"no client {client_id}")
    _emit({"client_id": client_id, "removed": True})


@main.group("jpki")
@click.pass_context
def jpki_group(ctx: click.Context) -> None:
    """JPKI certificate checks for operators (idp/jpki/cli.py), on this configuration."""
    app = ctx.ensure_object(ScriptInfo).load_app()
    ctx.obj = app.extensions["idp.config"].jpki  # the JpkiSettings the jpki commands look up


for _name, _command in jpki_cli.commands.items():
    jpki_group.add_command(_command, _name)

main.add_command(selfinfo_cli, "selfinfo")
main.add_command(documents_cli, "documents")
main.add_command(tokens_cli, "tokens")


@main.group("audit")
def audit_group() -> None:
    """The audit stream (docs/operators.md §10)."""


@audit_group.command("certificate", with_appcontext=False)
@click.argument("certificate", type=click.File("rb"))
def audit_certificate(certificate) -> None:
    """The audit stream's ``certificate`` field for this certificate (PEM or DER file)."""
    data = certificate.read()
    try:
        parsed = (
            x509.load_pem_x509_certificate(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(data)
        )
    except ValueError as e:
        raise click.ClickException(f"not a certificate ({e})") from None
    _emit({"certificate": audit.ref_of(parsed)})


def _audited(command: click.Command) -> None:
    """An ``admin.command`` audit line when ``command`` ends, done or failed: its words, never
    its arguments (a file name, a client's name or a secret could be among them)."""
    callback = command.callback

    @functools.wraps(callback)
    def run(*args, **kwargs):
        context = click.get_current_context()
        words = context.command_path  # "idp keys rotate", or "selfinfo import" run on its own
        if context.find_root().command is main:
            words = words.partition(" ")[2]
        try:
            result = callback(*args, **kwargs)
        except Exception as e:
            audit.emit(audit.ADMIN_COMMAND, command=words, outcome="failed", error=type(e).__name__)
            raise
        audit.emit(audit.ADMIN_COMMAND, command=words, outcome="done")
        return result

    command.callback = run


for _group, _names in (
    (keys_group, ("rotate",)),
    (client_group, ("add", "remove")),
    (selfinfo_cli, ("import",)),
    (documents_cli, ("purge",)),
    (tokens_cli, ("purge",)),
    (jpki_group, ("crl-refresh",)),
    (migrate_cli, ("upgrade", "downgrade", "stamp")),
):
    for _name in _names:
        _audited(_group.commands[_name])
