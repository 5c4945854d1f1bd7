"""The document commands: ``idp documents purge`` (``retention``), added by ``init_app``."""

from __future__ import annotations

import json
import time

import click
from flask.cli import AppGroup

from ..audit import audited
from ..services import services
from ..storage.db import schema_is_current
from . import retention


@click.group("documents", cls=AppGroup)
def documents_group() -> None:
    """Documents to sign: retention."""


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


COMMANDS = (documents_group,)
"""What ``init_app`` adds to the app's commands."""
