"""``jpki-bridge``: run the loopback API, or check the reader and card by hand.

Exit status: 0 it worked; 1 the reader, card or PIN said no (the reason is printed in English and
Japanese); 2 a usage error.
"""

from __future__ import annotations

import getpass
import json
import secrets
import sys

import click

from client_bridge import PROTOCOL_VERSION, __version__, errors, status
from client_bridge.card import JpkiCard
from client_bridge.certinfo import describe_certificate, pem
from client_bridge.guard import OriginSyntaxError, canonical_origin
from client_bridge.operation import Prompt, Request, perform
from client_bridge.pin import KeyKind, Pin
from client_bridge.pin_stdin import describe, stdin_pin_reader
from client_bridge.session import PcscConnector
from client_bridge.settings import DEFAULT_PORT, BridgeSettings

SELFTEST_ORIGIN = "http://127.0.0.1"
READER = click.option(
    "--reader", default=None, help="A PC/SC reader name (default: find the card)."
)


def fail(error: errors.BridgeError) -> None:
    """Print the reason in both languages and exit 1."""
    click.echo(f"✗ {error.reason}: {error.message('en')}", err=True)
    click.echo(f"  {error.message('ja')}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jpki-bridge")
def main() -> None:
    """The jpki-idp client bridge: your My Number Card for the IdP's login page."""


def _origins(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> frozenset[str]:
    if not values:
        raise click.BadParameter("give at least one: without it no site could use the bridge")
    try:
        return frozenset(canonical_origin(value) for value in values)
    except OriginSyntaxError as error:
        raise click.BadParameter(str(error)) from None


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--allow-origin", "origins", multiple=True, callback=_origins,
    help="An origin that may call the bridge, e.g. https://idp.example.jp (repeatable).",
)  # fmt: skip
@READER
@click.option("--pin-stdin", is_flag=True, help="Read PINs from standard input, one per line.")
@click.option("--pin-timeout", type=click.FloatRange(1, 600), default=120.0, show_default=True)
def run(
    port: int, origins: frozenset[str], reader: str | None, pin_stdin: bool, pin_timeout: float
) -> None:
    """Serve the loopback API on 127.0.0.1 until Ctrl-C or SIGTERM."""
    from client_bridge import server  # the web stack only for this command

    settings = BridgeSettings(origins, port, reader, pin_stdin, pin_timeout)
    try:
        server.serve(settings, announce=lambda line: click.echo(line, err=True))
    except OSError as error:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None


@main.command("status")
@READER
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as GET /v1/status.")
def status_command(reader: str | None, as_json: bool) -> None:
    """Readers, whether a My Number Card is ready, and which certificates it holds."""
    report = status.report(reader)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(f"jpki-bridge {report['bridge']}, protocol v{report['protocol']}")
        for item in report["readers"]:
            click.echo(
                f"  reader {item['name']!r}: {'card' if item['card_present'] else 'no card'}"
            )
        card = report["card"]
        if card["ready"]:
            certs = ", ".join(card["certificates"]) or "none"
            click.echo(f"✓ JPKI card ready in {card['reader']!r}; certificates: {certs}")
        else:
            click.echo(f"✗ {card['error']}: {card['message']['en']}\n  {card['message']['ja']}")
    sys.exit(0 if report["card"]["ready"] else 1)


@main.command("read-certs")
@READER
@click.option("--pem", "as_pem", is_flag=True, help="Print the authentication certificate as PEM.")
def read_certs(reader: str | None, as_pem: bool) -> None:
    """Read the user-authentication certificate (no PIN needed); the signing one stays locked."""
    try:
        with PcscConnector(reader)() as connection, connection.transaction():
            card = JpkiCard(connection)
            card.select_application()
            der = card.read_certificate(KeyKind.AUTH)
            has_signing = card.has_certificate(KeyKind.SIGN)
    except errors.BridgeError as error:
        fail(error)
    if as_pem:
        click.echo(pem(der), nl=False)
        return
    click.echo("user-authentication certificate (利用者証明用電子証明書):")
    click.echo(describe_certificate(der))
    click.echo(
        "signing certificate (署名用電子証明書): "
        + ("present, readable only with the signing password" if has_signing else "absent")
    )


def _terminal_pin(prompt: Prompt) -> Pin:
    click.echo(describe(prompt), err=True)
    return Pin(prompt.request.kind, getpass.getpass("PIN: "))


@main.command()
@READER
@click.option(
    "--key", type=click.Choice([k.value for k in KeyKind]), default="auth", show_default=True
)
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input.")
def selftest(reader: str | None, key: str, pin_stdin: bool) -> None:
    """Reader, card, certificate, and a test signature verified locally (spends no try if right)."""
    request = Request(
        KeyKind(key), SELFTEST_ORIGIN, secrets.token_bytes(32), "jpki-bridge selftest"
    )
    if pin_stdin:
        reader_fn = stdin_pin_reader()

        def ask(prompt: Prompt) -> Pin:
            pin = reader_fn(prompt, lambda: False)
            assert pin is not None  # noqa: S101 (never stopped: stop() is always False)
            return pin
    else:
        ask = _terminal_pin
    try:
        result = perform(request, PcscConnector(reader), ask)
    except errors.BridgeError as error:
        fail(error)
    click.echo(f"✓ card and certificate read ({key})")
    click.echo(describe_certificate(result.certificate, show_subject=request.kind is KeyKind.AUTH))
    click.echo(
        f"✓ test signature verified with the card's certificate (protocol v{PROTOCOL_VERSION})"
    )
