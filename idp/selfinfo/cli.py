"""``idp selfinfo …``: the operator's commands for self-information data.

``idp selfinfo import FILE`` loads JSONL or CSV (``idp.selfinfo.formats``), checks every record
(``records``), stores it idempotently (``importer``), shows a progress bar on a terminal and
ends with a summary: loaded / updated / unchanged / rejected, and each rejected line with its
reason (never the data). Exit status: 0 all records imported or unchanged, 1 at least one
record rejected (the others are stored), 2 nothing imported (the file is unusable, or the
database schema is not current).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
from flask.cli import AppGroup
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..audit import audited
from ..storage.db import schema_is_current
from .formats import FORMATS, ImportFileError, detect_format, read, survey
from .importer import Importer, Summary

log = logging.getLogger("idp.selfinfo")
EXIT_REJECTED = 1
EXIT_FILE_REFUSED = 2


class NothingImported(click.ClickException):
    """The file, or the database, was refused as a whole: nothing was imported."""

    exit_code = EXIT_FILE_REFUSED


@click.group("selfinfo", cls=AppGroup)
def selfinfo_group() -> None:
    """Self-information data: import."""


@audited
@selfinfo_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="jsonl or csv (default: from the file name, .jsonl/.ndjson or .csv).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON lines.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, fmt: str | None, as_json: bool) -> None:
    """Load self-information records from FILE (JSON Lines or CSV); see docs/selfinfo.md."""
    if not schema_is_current():
        raise NothingImported("the database schema is not current: run `idp db upgrade`")
    try:
        fmt = detect_format(file, fmt)
        summary = _import(file, fmt, survey(file, fmt))
    except ImportFileError as e:
        raise NothingImported(f"{e}; nothing was imported") from None
    log.info(
        "selfinfo import %s: loaded=%d updated=%d unchanged=%d rejected=%d accounts_created=%d",
        file.name,
        summary.loaded,
        summary.updated,
        summary.unchanged,
        len(summary.rejected),
        summary.accounts_created,
    )
    (_print_json if as_json else _print_text)(file, summary)
    if summary.rejected:
        ctx.exit(EXIT_REJECTED)


def _import(file: Path, fmt: str, lines: int) -> Summary:
    importer = Importer()
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(f"importing {file.name}", total=lines)
        for item in read(file, fmt):
            importer.add(item)
            progress.update(task, completed=item.end_line)
        summary = importer.finish()
        progress.update(task, completed=lines)
    return summary


def _print_text(file: Path, summary: Summary) -> None:
    click.echo(f"{file.name}: {summary.records} records")
    for label, count in (
        ("loaded", summary.loaded),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("rejected", len(summary.rejected)),
        ("accounts created", summary.accounts_created),
    ):
        click.echo(f"  {label:<17}{count}")
    if summary.rejected:
        click.echo("rejected:")
        for line, reason in summary.rejected:
            click.echo(f"  line {line}: {reason}")


def _print_json(file: Path, summary: Summary) -> None:
    for line, reason in summary.rejected:
        click.echo(json.dumps({"line": line, "reason": reason}, ensure_ascii=False))
    counts = {
        "file": file.name,
        "records": summary.records,
        "loaded": summary.loaded,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "rejected": len(summary.rejected),
        "accounts_created": summary.accounts_created,
    }
    click.echo(json.dumps(counts, ensure_ascii=False, sort_keys=True))


COMMANDS = (selfinfo_group,)
"""What ``init_app`` adds to the app's commands."""
