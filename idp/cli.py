"""The ``idp`` command: its root, ``idp run``, ``idp jpki …`` and ``idp audit certificate``.

Built on Flask's ``FlaskGroup`` so every command runs inside the app built by ``create_app()``
from IDP_CONFIG and IDP_* variables. Each package adds its own commands (its ``cli.py``) to the
app in ``init_app``: ``keys``, ``client`` and ``tokens`` (idp.oidc), ``documents``, ``selfinfo``
and ``db`` (idp.storage, Flask-Migrate's group). The card core has no app, so its ``jpki`` group
is lent the app's configuration here. Output meant for scripts is one JSON object per line.
"""

from __future__ import annotations

import json
import time

import click
from cryptography import x509
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo
from werkzeug.serving import WSGIRequestHandler, run_simple
from werkzeug.urls import uri_to_iri

from . import audit, create_app, logs
from .cardstatus import LISTENER
from .config import ConfigError
from .jpki.cli import STATUS_LISTENER, STATUS_STORE
from .jpki.cli import jpki as jpki_cli
from .oidc import fapi, keys, sealer
from .services import services
from .storage import db as storage_db
from .storage.ephemeral import EPHEMERAL


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
    if not services().config.database.url:
        storage_db.upgrade()  # the zero-configuration SQLite file: create or update its schema
    elif not storage_db.schema_is_current():
        raise click.ClickException("the database schema is not current: run `idp db upgrade`")
    if services().config.environment == "production":
        if why := fapi.non_fapi_refusal(services().config.keys):
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
    keys.ensure_keys(services().config, sealer(), int(time.time()))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple(host, port, app, threaded=True, request_handler=PathOnlyLog)


@main.group("jpki")
@click.pass_context
def jpki_group(ctx: click.Context) -> None:
    """JPKI certificate checks for operators (idp/jpki/cli.py), on this configuration."""
    app = ctx.ensure_object(ScriptInfo).load_app()
    ctx.obj = services(app).config.jpki  # the JpkiSettings the jpki commands look up
    ctx.meta[STATUS_STORE] = services(app)[EPHEMERAL]  # where the feed's cursor is shared
    ctx.meta[STATUS_LISTENER] = services(app)[LISTENER]  # the card status listener


for _name, _command in jpki_cli.commands.items():
    jpki_group.add_command(_command, _name)
audit.audited(jpki_group.commands["crl-refresh"])
audit.audited(jpki_group.commands["status-poll"])


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
