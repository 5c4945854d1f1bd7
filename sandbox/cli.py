"""``jpki-sandbox``: the J-LIS-like test world, driven the way an operator or a test drives it.

The command names, options and outputs are a contract: tests and ``script/demo``
call exactly these.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click
from cryptography.hazmat.primitives import serialization

from sandbox import lifecycle, pki, profiles, tsa
from sandbox.citizens import SAMPLE_CITIZENS, Citizen, Gender
from sandbox.profiles import CertKind
from sandbox.state import DEFAULT_STATE, SandboxError, SandboxState

SAMPLE = SAMPLE_CITIZENS[0]
_T = TypeVar("_T")
CERT_OPTION = click.option(
    "--cert",
    "kind",
    type=click.Choice([k.value for k in CertKind]),
    required=True,
    help="auth: the user-authentication certificate; sign: the signing certificate.",
)


def _state(ctx: click.Context) -> SandboxState:
    try:
        return SandboxState(ctx.obj)
    except SandboxError as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="JPKI_SANDBOX_STATE",
    default=DEFAULT_STATE,
    show_default=True,
    help="The sandbox's state directory (also JPKI_SANDBOX_STATE).",
)
@click.pass_context
def main(ctx: click.Context, state_dir: Path) -> None:
    """A J-LIS-like test PKI, OCSP responder, CRLs and virtual My Number Cards."""
    ctx.obj = state_dir


@main.command()
@click.option(
    "--base-url",
    default=pki.DEFAULT_BASE_URL,
    show_default=True,
    help="Where 'serve' will listen; written into AIA and CRL distribution points.",
)
@click.option(
    "--organization",
    default=profiles.TEST_ORGANIZATION,
    show_default=True,
    help="The roots' O=. Only JPKI-TEST roots are refused in production; another name makes "
    "stand-in roots for testing the production configuration.",
)
@click.pass_context
def init(ctx: click.Context, base_url: str, organization: str) -> None:
    """Create the CAs, OCSP responder certificates and trust/ folder (once; idempotent)."""
    existed = (ctx.obj / "sandbox.json").is_file()
    state = SandboxState.init(ctx.obj, base_url, organization)
    if existed and state.endpoints.base_url != base_url:
        raise click.ClickException(
            f"{ctx.obj} already exists with base URL {state.endpoints.base_url}; "
            "remove it to change the base URL"
        )
    tsa.authority(state)  # its root in trust/tsa/ before an IdP is configured to trust it
    click.echo(f"{'kept' if existed else 'created'} sandbox state in {ctx.obj}")
    for kind in CertKind:
        click.echo(f"trust anchors ({kind}): {state.trust_dir(kind)}")
    click.echo(f"revocation feed certificate: {state.feed_certificate_path()}")


@main.command("issue-card")
@click.option(
    "--name", default=SAMPLE.name, show_default=True, help="Family name, a space, given name."
)
@click.option("--address", default=SAMPLE.address, show_default=True)
@click.option(
    "--birthdate",
    type=click.DateTime(["%Y-%m-%d"]),
    default=SAMPLE.birthdate.isoformat(),
    show_default=True,
)
@click.option(
    "--gender",
    type=click.Choice([g.value for g in Gender]),
    default=SAMPLE.gender.value,
    show_default=True,
)
@click.option("--auth-pin", default="1234", show_default=True, help="4 digits.")
@click.option("--sign-pin", default="ABC123", show_default=True, help="6-16 of A-Z and 0-9.")
@click.pass_context
def issue_card(
    ctx: click.Context,
    name: str,
    address: str,
    birthdate: dt.datetime,
    gender: str,
    auth_pin: str,
    sign_pin: str,
) -> None:
    """Issue a card; its id is the last line printed."""
    state = _state(ctx)
    family, _, given = name.replace("\u3000", " ").partition(" ")
    citizen = Citizen(
        f"{family}\u3000{given}" if given else family, address, birthdate.date(), Gender(gender)
    )
    try:
        citizen.prefecture  # noqa: B018  (validates the address before any key is made)
        record = state.issue_card(citizen, auth_pin, sign_pin)
    except (SandboxError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"issued a card to {citizen.name} ({citizen.address})")
    click.echo(record.id)


@main.command("list")
@click.pass_context
def list_cards(ctx: click.Context) -> None:
    """One JSON line per card: id, holder, serials, status, PIN tries left."""
    state = _state(ctx)
    registries = {kind: state.registry(kind) for kind in CertKind}
    for card_id in state.card_ids():
        record = state.card(card_id)
        status = {
            kind.value: registries[kind][int(record.serials[kind], 16)].status for kind in CertKind
        }
        line = {
            "id": record.id,
            "name": record.name,
            "serials": record.serials,
            "status": status,
            "tries_left": record.tries_left,
        }
        click.echo(json.dumps(line, ensure_ascii=False))


@main.command()
@click.argument("card_id")
@CERT_OPTION
@click.pass_context
def export(ctx: click.Context, card_id: str, kind: str) -> None:
    """Print a card's certificate as PEM."""
    try:
        certificate = _state(ctx).certificate(card_id, CertKind(kind))
    except SandboxError as error:
        raise click.ClickException(str(error)) from None
    click.echo(certificate.public_bytes(serialization.Encoding.PEM).decode(), nl=False)


@main.command()
@click.argument("card_id")
@CERT_OPTION
@click.option(
    "--reason",
    default="keyCompromise",
    show_default=True,
    help="An RFC 5280 CRLReason name, e.g. keyCompromise, affiliationChanged.",
)
@click.pass_context
def revoke(ctx: click.Context, card_id: str, kind: str, reason: str) -> None:
    """Revoke a certificate (final, as J-LIS treats every revocation)."""
    _change(ctx, lambda state: state.revoke(card_id, CertKind(kind), reason))
    click.echo(f"revoked the {kind} certificate of card {card_id} ({reason})")


@main.command()
@click.argument("card_id")
@CERT_OPTION
@click.pass_context
def hold(ctx: click.Context, card_id: str, kind: str) -> None:
    """Suspend a certificate (certificateHold)."""
    _change(ctx, lambda state: state.hold(card_id, CertKind(kind)))
    click.echo(f"put the {kind} certificate of card {card_id} on hold")


@main.command()
@click.argument("card_id")
@CERT_OPTION
@click.pass_context
def release(ctx: click.Context, card_id: str, kind: str) -> None:
    """Release a certificate from hold (removeFromCRL in the next delta CRL)."""
    _change(ctx, lambda state: state.release(card_id, CertKind(kind)))
    click.echo(f"released the {kind} certificate of card {card_id}")


@main.command()
@click.argument("card_id")
@click.option(
    "--cert",
    "which",
    type=click.Choice([*(k.value for k in CertKind), "both"]),
    default="both",
    show_default=True,
    help="Which certificates to renew.",
)
@click.pass_context
def renew(ctx: click.Context, card_id: str, which: str) -> None:
    """Renew certificates: new keys on the same card, the old certificates revoked as
    superseded; the PINs stay."""
    kinds = list(CertKind) if which == "both" else [CertKind(which)]
    state = _state(ctx)
    replacements = _lifecycle(lambda: lifecycle.renew(state, card_id, kinds))
    for done in replacements:
        click.echo(_replaced(done))


@main.command()
@click.argument("card_id")
@click.option(
    "--reason",
    type=click.Choice(lifecycle.REISSUE_REASONS),
    default=lifecycle.REISSUE_REASONS[0],
    show_default=True,
    help="How the old card's certificates are revoked: keyCompromise for a lost card, "
    "cessationOfOperation for one handed back.",
)
@click.option("--auth-pin", default=None, help="A new authentication PIN (default: the old one).")
@click.option("--sign-pin", default=None, help="A new signing PIN (default: the old one).")
@click.pass_context
def reissue(
    ctx: click.Context, card_id: str, reason: str, auth_pin: str | None, sign_pin: str | None
) -> None:
    """Reissue a card to the same citizen; the old card's certificates are revoked. The new
    card's id is the last line printed."""
    state = _state(ctx)
    record, replacements = _lifecycle(
        lambda: lifecycle.reissue(state, card_id, reason, auth_pin=auth_pin, sign_pin=sign_pin)
    )
    for done in replacements:
        click.echo(_replaced(done))
    click.echo(f"reissued card {card_id} to {record.name} ({record.address})")
    click.echo(record.id)


@main.command()
@click.argument("card_id")
@click.option("--address", required=True, help="The new address, starting with a prefecture.")
@click.pass_context
def move(ctx: click.Context, card_id: str, address: str) -> None:
    """The holder moved: the signing certificate revoked (affiliationChanged) and reissued with
    the new address; the authentication certificate unchanged."""
    state = _state(ctx)
    click.echo(_replaced(_lifecycle(lambda: lifecycle.move(state, card_id, address))))


@main.command()
@click.argument("card_id")
@click.option("--name", required=True, help="The new name: family name, a space, given name.")
@click.pass_context
def rename(ctx: click.Context, card_id: str, name: str) -> None:
    """The holder's name changed: the signing certificate revoked (affiliationChanged) and
    reissued with the new name; the authentication certificate unchanged."""
    state = _state(ctx)
    click.echo(_replaced(_lifecycle(lambda: lifecycle.rename(state, card_id, name))))


def _lifecycle(action: Callable[[], _T]) -> _T:
    try:
        return action()
    except SandboxError as error:
        raise click.ClickException(str(error)) from None


def _replaced(done: lifecycle.Replacement) -> str:
    where = f"card {done.old_card}" + (
        f" -> card {done.new_card}" if done.new_card != done.old_card else ""
    )
    return (
        f"replaced the {done.kind} certificate of {where}: serial {done.old_serial:X} revoked "
        f"({done.reason}), new serial {done.new_serial:X}"
    )


def _change(ctx: click.Context, change: Callable[[SandboxState], None]) -> None:
    try:
        change(_state(ctx))
    except SandboxError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: the base URL's port.")
@click.option(
    "--delta-interval",
    type=click.FloatRange(min=1),
    default=15.0,
    show_default=True,
    help="Seconds between publications of the CRLs when nothing changed (a change is published "
    "at once).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int | None, delta_interval: float) -> None:
    """Serve OCSP, CRLs and the revocation feed (GET /feed) in the foreground until Ctrl-C."""
    from sandbox import server  # imported late: the other commands need no web stack

    state = _state(ctx)
    port = port or _base_port(state.endpoints.base_url)
    try:
        server.serve(state, host=host, port=port, delta_interval=delta_interval)
    except SandboxError as error:
        raise click.ClickException(str(error)) from None


def _base_port(base_url: str) -> int:
    parts = urlsplit(base_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


@main.command()
@click.argument("card_id")
@click.option("--vpcd-host", default="127.0.0.1", show_default=True)
@click.option("--vpcd-port", type=int, default=35963, show_default=True)
@click.pass_context
def insert(ctx: click.Context, card_id: str, vpcd_host: str, vpcd_port: int) -> None:
    """Put a card in the virtual reader until Ctrl-C or SIGTERM (then it is removed)."""
    from sandbox.card import vpcd

    try:
        vpcd.insert(_state(ctx), card_id, host=vpcd_host, port=vpcd_port)
    except SandboxError as error:
        raise click.ClickException(str(error)) from None


@main.command("selfinfo")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (default: standard output).",
)
@click.pass_context
def selfinfo(ctx: click.Context, out: Path | None) -> None:
    """Write plausible self-information for every card's citizen, as JSONL for
    `idp selfinfo import`, keyed by each card's user-authentication certificate."""
    from sandbox import selfinfo as data  # imported late, like serve's web stack

    state = _state(ctx)
    if out is None:
        data.write_jsonl(state, click.get_text_stream("stdout"))
        return
    with out.open("w", encoding="utf-8") as f:
        count = data.write_jsonl(state, f)
    click.echo(f"wrote {count} records for {len(state.card_ids())} cards to {out}", err=True)
