"""``idp jpki check``: why was this card refused?

Validates one certificate exactly as a login (``--purpose login``) or an identity check
(``--purpose identity``) would, and prints one JSON line: ``status`` (``good`` or the refusal
reason), ``reason`` (detail), ``source``, ``checked_at``, ``serial``, ``issuer``. Exit status 0
only for ``good``, 1 for a refusal, 2 for a configuration problem. The group is registered by
``idp/cli.py``; settings come from a ``JpkiSettings`` in the click context when the IdP provides
one, else from the flags.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import tempfile
from pathlib import Path

import click
from cryptography import x509

from idp.jpki.anchors import (
    JLIS_ROOT_FINGERPRINTS,
    TrustAnchorError,
    TrustAnchors,
    is_test_root,
)
from idp.jpki.certificate import fingerprint, load_certificate, serial_hex
from idp.jpki.crl_updater import CrlUpdater
from idp.jpki.errors import JpkiValidationError
from idp.jpki.factory import NO_OCSP_CACHE, build_validator
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from idp.jpki.status_watch import StatusWatcher, build_watcher
from idp.jpki.transport import HttpTransport
from idp.jpki.validator import CERTIFICATE_FOR, JpkiValidator, Purpose


@click.group("jpki")
def jpki() -> None:
    """JPKI certificate checks for operators."""


@jpki.command("check")
@click.argument("cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--purpose",
    type=click.Choice([p.value for p in Purpose]),
    default="login",
    show_default=True,
    help="login: authentication certificate; identity: signing.",
)
@click.option(
    "--trust-anchors",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of PEM roots for this purpose (default: the configuration's).",
)
@click.option(
    "--revocation",
    type=click.Choice([p.value for p in RevocationPolicy]),
    help="ocsp, crl or ocsp,crl (default: the configuration's).",
)
@click.option(
    "--allow-test-roots",
    is_flag=True,
    default=None,
    help="Accept O=JPKI-TEST roots (development only).",
)
@click.pass_context
def check(
    ctx: click.Context, cert: Path, purpose: str, trust_anchors: Path | None,
    revocation: str | None, allow_test_roots: bool | None,
) -> None:  # fmt: skip
    """Validate CERT.pem as a login or identity check would; print one JSON line."""
    settings = _settings(ctx, Purpose(purpose), trust_anchors, allow_test_roots)
    now = dt.datetime.now(dt.UTC)
    line: dict[str, object] = {"checked_at": now.isoformat(), "serial": None, "issuer": None}
    try:
        certificate = load_certificate(cert.read_bytes())
        line.update(serial=serial_hex(certificate), issuer=certificate.issuer.rfc4514_string())
        validator = _validator(settings, certificate, Purpose(purpose))
        policy = RevocationPolicy(revocation) if revocation else None
        result = validator.validate(certificate, Purpose(purpose), now, revocation_policy=policy)
    except TrustAnchorError as error:
        click.echo(json.dumps({"status": "configuration_error", "reason": str(error), **line}))
        ctx.exit(2)
    except JpkiValidationError as error:
        click.echo(
            json.dumps({**error.as_dict(), "source": error.source, **line}, ensure_ascii=False)
        )
        ctx.exit(1)
    status = result.revocation
    detail = f"{status.responder}" + (
        f" (OCSP: {status.fallback_reason})" if status.fallback_reason else ""
    )
    click.echo(json.dumps({"status": "good", "reason": detail, "source": status.source, **line}))


@jpki.command("anchors")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def anchors_command(folder: Path) -> None:
    """List the roots in FOLDER with their SHA-256 fingerprints, one JSON line each.

    Compare ``fingerprint`` with J-LIS's published value before installing a root (docs/jpki.md §4);
    ``known_jlis`` says whether it is one of the fingerprints pinned in this release.
    """
    for path in sorted(folder.glob("*.pem")):
        try:
            roots = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError as error:
            click.echo(json.dumps({"file": path.name, "error": str(error)}))
            continue
        for root in roots:
            line = {
                "file": path.name,
                "subject": root.subject.rfc4514_string(),
                "fingerprint": fingerprint(root),
                "not_after": root.not_valid_after_utc.isoformat(),
                "test_root": is_test_root(root),
                "known_jlis": fingerprint(root) in JLIS_ROOT_FINGERPRINTS,
            }
            click.echo(json.dumps(line, ensure_ascii=False))


def _settings(
    ctx: click.Context, purpose: Purpose, anchors: Path | None, allow_test: bool | None
) -> JpkiSettings:
    configured = _configured(ctx)
    settings = configured or JpkiSettings()
    changes: dict[str, object] = {}
    if anchors is not None:
        changes["trust_anchors"] = {**settings.trust_anchors, CERTIFICATE_FOR[purpose]: anchors}
    if allow_test is not None:
        changes["allow_test_roots"] = allow_test
    if configured is None:
        scratch = ctx.with_resource(tempfile.TemporaryDirectory(prefix="jpki-check-"))
        changes["crl_index_dir"] = Path(scratch)
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


@jpki.command("crl-refresh")
@click.option("--force", is_flag=True, help="Download even when the held CRL is not yet due.")
@click.pass_context
def crl_refresh(ctx: click.Context, force: bool) -> None:
    """One CRL refresh round over ``[jpki] crl_urls`` (for cron; serving processes also refresh
    on their own). Prints one JSON line per type; exits 1 if any download was refused."""
    settings = _configured(ctx)
    if settings is None or not settings.crl_urls:
        raise click.ClickException("no [jpki] crl_urls configured")
    updater = CrlUpdater(settings, TrustAnchors.from_settings(settings).roots, HttpTransport())
    _watcher(ctx, settings, updater)  # what the new CRLs change reaches the IdP's listener
    refused = False
    for kind in map(CertificateType, settings.crl_urls):
        now = dt.datetime.now(dt.UTC)
        outcome = {"type": str(kind), "refreshed": False, "refused": None}
        if force or updater.due(kind, now):
            try:
                updater.refresh(kind, now)
                outcome["refreshed"] = True
            except JpkiValidationError as error:
                outcome["refused"], refused = error.reason, True
        held = updater.source(kind).next_update()
        outcome["next_update"] = held.isoformat() if held else None
        click.echo(json.dumps(outcome))
    if refused:
        ctx.exit(1)


STATUS_WATCHER = "jpki.status_watcher"
"""``ctx.meta`` key under which the IdP lends ``status-poll`` and ``crl-refresh`` its
``StatusWatcher`` (the app's listener and shared store); the card core has none of its own."""
STATUS_LISTENER = "jpki.status_listener"
STATUS_STORE = "jpki.status_store"
"""Without a lent watcher, the keys of a lent ``StatusListener`` and ephemeral store (where the
feed's cursor is shared) from which the commands build one."""


@jpki.command("status-poll")
@click.pass_context
def status_poll(ctx: click.Context) -> None:
    """One round of the status watcher (for cron; serving processes also poll on their own):
    the revocation feed from the shared cursor, and each delta CRL. Prints one JSON line
    (changes, pages, each source's refusal); exits 1 if a source was refused."""
    settings = _configured(ctx)
    lent = ctx.meta.get(STATUS_WATCHER)
    if lent is None and (
        settings is None or not (settings.revocation_feed.url or settings.delta_crl_urls)
    ):
        raise click.ClickException(
            "no status source: configure [jpki.revocation_feed] or [jpki.delta_crl_urls]"
        )
    watcher = lent or _watcher(ctx, settings or JpkiSettings(), None)
    if watcher is None:
        raise click.ClickException("no status listener: the IdP lent this command none")
    outcome = watcher.poll_once(dt.datetime.now(dt.UTC))
    refused = {source: reason for source, reason in outcome.refusals.items() if reason}
    click.echo(json.dumps({"changes": outcome.changes, "pages": outcome.pages, "refused": refused}))
    if refused:
        ctx.exit(1)


def _watcher(
    ctx: click.Context, settings: JpkiSettings, updater: CrlUpdater | None
) -> StatusWatcher | None:
    """The IdP's watcher, or one telling the IdP's listener, if the IdP lent either and a source
    is configured; it also hears what ``updater``'s CRLs change."""
    lent: StatusWatcher | None = ctx.meta.get(STATUS_WATCHER)
    if lent is not None:
        if updater is not None:
            lent.watch(updater)
        return lent
    listener, store = ctx.meta.get(STATUS_LISTENER), ctx.meta.get(STATUS_STORE)
    if listener is None or store is None:
        return None
    anchors = updater.anchors if updater else TrustAnchors.from_settings(settings).roots
    try:
        return build_watcher(settings, store, listener, anchors, transport=HttpTransport(),
                             updater=updater)  # fmt: skip
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _configured(ctx: click.Context) -> JpkiSettings | None:
    """A ``JpkiSettings`` in the context, or the ``jpki`` block of the IdP's config object."""
    found = ctx.find_object(JpkiSettings)
    if found is None:
        block = getattr(ctx.find_root().obj, "jpki", None)
        found = block if isinstance(block, JpkiSettings) else None
    return found


def _validator(
    settings: JpkiSettings, certificate: x509.Certificate, purpose: Purpose
) -> JpkiValidator:
    """Services for one check; CRL URLs default to the certificate's own pointers. A one-shot
    command shares nothing, deliberately: the responder is asked now (``NO_OCSP_CACHE``), so the
    answer is the certificate's status at this moment, not an answer a login may have cached."""
    kind = CERTIFICATE_FOR[purpose]
    if kind not in settings.trust_anchors:
        raise TrustAnchorError(f"no trust anchors for {kind}: pass --trust-anchors")
    settings = _with_crl_urls(settings, certificate, kind)
    anchors = TrustAnchors.from_settings(settings)
    transport = HttpTransport()
    updater = CrlUpdater(settings, anchors.roots, transport)
    if settings.crl_urls.get(kind) and updater.due(kind, dt.datetime.now(dt.UTC)):
        # On failure the check below says crl_unavailable, if the CRL is needed at all.
        with contextlib.suppress(JpkiValidationError):
            updater.refresh(kind, dt.datetime.now(dt.UTC))
    return build_validator(settings, NO_OCSP_CACHE, transport=transport, anchors=anchors)


def _with_crl_urls(
    settings: JpkiSettings, certificate: x509.Certificate, kind: CertificateType
) -> JpkiSettings:
    if kind in settings.crl_urls:
        return settings
    full = _first_uri(certificate, x509.CRLDistributionPoints)
    delta = _first_uri(certificate, x509.FreshestCRL)
    return dataclasses.replace(
        settings,
        crl_urls={**settings.crl_urls, **({kind: full} if full else {})},
        delta_crl_urls={**settings.delta_crl_urls, **({kind: delta} if delta else {})},
    )


def _first_uri(certificate: x509.Certificate, kind: type) -> str | None:
    try:
        points = certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier):
                return name.value
    return None


if __name__ == "__main__":
    jpki()
