"""``python -m examples.relying_party run|register|subscribe``: the sample bank's commands.

``register`` makes the bank's keys (first time) and registers it at the IdP with
``idp client add`` (run in the IdP's configuration: IDP_CONFIG and IDP_* apply), then keeps the
client id in the instance folder. ``run`` serves the bank (development server). ``subscribe``
creates or updates the bank's Shared Signals stream at the IdP and has it verified, while the
bank runs (``subscription.py``).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import click
from werkzeug.serving import WSGIRequestHandler, run_simple

from . import create_app, subscription, verify_contract
from .keys import PUBLIC_JWKS, client_key
from .protocol import IdpError, IdpUnavailable
from .settings import NAME, PURPOSE, RETENTION_DAYS, SIGNING_ALG, TRUST_FRAMEWORK, BankSettings

IDP_COMMAND = str(Path(sys.executable).with_name("idp"))


def _settings(issuer: str | None, base_url: str | None, instance: Path | None) -> BankSettings:
    return BankSettings.from_environment(issuer=issuer, base_url=base_url, instance=instance)


@click.group()
@click.option("--issuer", help="The IdP (default BANK_ISSUER or http://127.0.0.1:8000).")
@click.option("--base-url", help="This bank (default BANK_BASE_URL or http://127.0.0.1:8001).")
@click.option("--instance", type=click.Path(path_type=Path), help="Keys and client id folder.")
@click.pass_context
def main(ctx: click.Context, issuer, base_url, instance) -> None:
    """The sample bank (a relying party of jpki-idp)."""
    ctx.obj = _settings(issuer, base_url, instance)


def add_command(settings: BankSettings, idp_command: str = IDP_COMMAND) -> list[str]:
    """The ``idp client add`` command line that registers this bank."""
    return [
        *shlex.split(idp_command),
        "client", "add",
        "--name", NAME,
        "--redirect-uri", settings.redirect_uri,
        "--redirect-uri", settings.contract_return_uri,
        "--auth-method", "private_key_jwt",
        "--jwks-file", str(settings.instance / PUBLIC_JWKS),
        "--require-par",
        "--require-dpop",
        "--id-token-alg", SIGNING_ALG,
        "--backchannel-logout-uri", settings.backchannel_logout_uri,
        "--post-logout-redirect-uri", settings.post_logout_redirect_uri,
        "--trust-framework", TRUST_FRAMEWORK,
        "--purpose", PURPOSE,
        "--retention-days", str(RETENTION_DAYS),
        "--scope", "openid selfinfo:income selfinfo:household",
    ]  # fmt: skip


@main.command()
@click.option("--idp-command", default=IDP_COMMAND, show_default=True)
@click.option("--force", is_flag=True, help="Register again even if a client id is kept.")
@click.pass_obj
def register(settings: BankSettings, idp_command: str, force: bool) -> None:
    """Register the bank at the IdP (idp client add) and keep its client id."""
    kept = settings.registered_client_id()
    if kept and not force and _known_at_idp(idp_command, kept):
        click.echo(json.dumps({"client_id": kept, "new": False}))
        return
    settings.instance.mkdir(parents=True, exist_ok=True)
    client_key(settings.instance)  # writes jwks.json, the public half
    done = subprocess.run(add_command(settings, idp_command), capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise click.ClickException(f"idp client add failed: {done.stderr.strip()}")
    client_id = json.loads(done.stdout.strip().splitlines()[-1])["client_id"]
    settings.client_file.write_text(json.dumps({"client_id": client_id, "issuer": settings.issuer}))
    click.echo(json.dumps({"client_id": client_id, "new": True}))


def _known_at_idp(idp_command: str, client_id: str) -> bool:
    """The kept client id is still registered (the IdP's database may have been replaced)."""
    show = [*shlex.split(idp_command), "client", "show", client_id]
    return subprocess.run(show, capture_output=True, text=True).returncode == 0  # noqa: S603


class PathOnlyLog(WSGIRequestHandler):
    """The access log without query strings: the IdP's authorization code and the state arrive
    in the callback's query (keep them out of production access logs, too)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if (full := self.__dict__.get("path")) is not None:  # the environ is built: no later use
            self.path = full.partition("?")[0]
        self.requestline = self.requestline.partition("?")[0]  # logged if it was unparsable
        super().log_request(code, size)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.pass_obj
def run(settings: BankSettings, host: str, port: int) -> None:
    """Serve the bank (development server)."""
    app = create_app(settings)
    if not app.extensions["bank.idp"].client_id:
        click.echo("the bank is not registered: run `python -m examples.relying_party register`")
    run_simple(host, port, app, threaded=True, request_handler=PathOnlyLog)


@main.command()
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for verification.")
@click.pass_obj
def subscribe(settings: BankSettings, wait: float) -> None:
    """Create or update the bank's Shared Signals stream (push) and verify it."""
    found = subscription.receiver(create_app(settings))
    if not found.client_id:
        raise click.ClickException("the bank is not registered: run `register` first")
    try:
        result = subscription.subscribe(found, wait)
    except (IdpError, IdpUnavailable) as e:
        raise click.ClickException(f"the stream was not set up: {e}") from None
    click.echo(json.dumps(result))
    if not result["verified"]:
        raise click.ClickException("no verification event arrived: is the bank running?")


@main.command("verify-contract")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A trusted root certificate (PEM or DER); repeatable. "
    "Default: BANK_TRUST_ROOTS, else the instance folder's trust/*.pem.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.pass_obj
def verify_contract_command(
    settings: BankSettings, file: Path, roots: tuple[Path, ...], as_json: bool
) -> None:
    """Check a signed contract PDF and print the report; exit status 1 when it is not valid."""
    files = roots or settings.root_files()
    if not files:
        raise click.UsageError("no trusted root: pass --root FILE (the JPKI signing CA's root)")
    report = verify_contract.examine(file.read_bytes(), verify_contract.load_roots(files))
    if as_json:
        click.echo(json.dumps(report.record(), ensure_ascii=False, indent=2))
    else:
        click.echo(verify_contract.as_text(report))
    sys.exit(0 if report.valid else 1)


if __name__ == "__main__":
    main()
