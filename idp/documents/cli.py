"""The document commands, added by ``init_app``: ``idp documents purge`` (``retention``) and
``idp documents timestamp`` (a new archive timestamp on a stored PAdES B-LTA file, ``longterm``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask.cli import AppGroup
from pyhanko.pdf_utils.misc import PdfError

from ..audit import audited
from ..services import services
from ..storage.db import schema_is_current
from . import longterm, retention
from .coroutines import run


@click.group("documents", cls=AppGroup)
def documents_group() -> None:
    """Documents to sign: retention, archive timestamps."""


@audited
@documents_group.command("purge")
@click.option(
    "--dry-run", is_flag=True, help="Count what would be deleted or cleared; change nothing."
)
@click.option(
    "--batch-size", type=click.IntRange(1, 10_000), default=retention.BATCH_SIZE, show_default=True,
    help="Rows per statement and transaction.",
)  # fmt: skip
def purge_command(dry_run: bool, batch_size: int) -> None:
    """Delete finished requests past documents.retention_days and drop the PDFs of declined and
    expired ones; one JSON line of counts. Safe to run on several nodes, and repeatedly."""
    if not schema_is_current():
        raise click.ClickException("the database schema is not current: run `idp db upgrade`")
    days = services().config.documents.retention_days
    done = retention.purge(int(time.time()), days * retention.DAY, batch_size, dry_run)
    out = {"deleted": done.deleted, "cleared": done.cleared, "dry_run": dry_run,
           "retention_days": days}  # fmt: skip
    click.echo(json.dumps(out, separators=(",", ":"), sort_keys=True))


@audited
@documents_group.command("timestamp")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def timestamp_command(source: Path, target: Path) -> None:
    """Renew a signed PDF's archive timestamp (PAdES B-LTA): write TARGET, SOURCE plus the
    revocation data for its last timestamp and a new document timestamp from the configured
    TSA. Run it before the last timestamp's TSA certificate expires; one JSON line."""
    long_term = services()[longterm.LONG_TERM]
    if long_term is None:
        raise click.ClickException("no time-stamping authority: set documents.tsa_url")
    if target.exists():
        raise click.ClickException(f"{target} exists: a signed document is never overwritten")
    data = source.read_bytes()
    try:
        before = longterm.timestamps_in(data)
        renewed = run(longterm.document_timestamp(data, long_term))
    except longterm.LevelUnavailable as error:
        raise click.ClickException(f"not renewed: {error}") from None
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"{source} is not a readable signed PDF: {error}") from None
    with target.open("xb") as out:
        out.write(renewed)
    out_json = {"source": str(source), "target": str(target),
                "document_timestamps": longterm.timestamps_in(renewed),
                "before": before}  # fmt: skip
    click.echo(json.dumps(out_json, separators=(",", ":"), sort_keys=True))


COMMANDS = (documents_group,)
"""What ``init_app`` adds to the app's commands."""
