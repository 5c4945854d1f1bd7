"""``idp selfinfo import``: summary text, JSON lines, and exit status 0 / 1 / 2."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.cli import main
from tests.selfinfo.samples import SAMPLES, jsonl, sample

ISSUER_HASH = "3c" * 32
IDP = Path(sys.executable).with_name("idp")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The configuration ``idp`` reads: a fresh SQLite database, migrated."""
    values = {
        "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "IDP_SECRET_KEY": "cli-test-secret",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.setenv("IDP_ENV", "development")
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    return values


def _idp(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _cert(serial: str) -> dict:
    return {"issuer_hash": ISSUER_HASH, "serial": serial, "not_after": 1_900_000_000}


def _stored(env) -> dict:
    from idp import create_app
    from idp.storage.db import db
    from idp.storage.selfinfo import SelfInformation

    with create_app().app_context():
        rows = db.session.execute(db.select(SelfInformation)).scalars()
        return {r.category: r.document() for r in rows}


def test_import_prints_a_summary_and_exits_0_then_reports_unchanged(env, tmp_path):
    records = [{"certificate": _cert("A1"), "category": c, "data": d} for c, d in SAMPLES.items()]
    path = tmp_path / "sandbox.jsonl"
    path.write_text(jsonl(*records), encoding="utf-8")
    code, out, _ = _idp("selfinfo", "import", str(path))
    assert code == 0
    assert out.splitlines() == [
        "sandbox.jsonl: 5 records",
        "  loaded           5",
        "  updated          0",
        "  unchanged        0",
        "  rejected         0",
        "  accounts created 1",
    ]
    assert _stored(env) == SAMPLES
    code, out, _ = _idp("selfinfo", "import", str(path))
    assert code == 0
    assert "  unchanged        5" in out.splitlines()
    assert "  accounts created 0" in out.splitlines()


def test_rejected_records_are_listed_with_line_and_reason_and_exit_1(env, tmp_path):
    bad = sample("income")
    bad["resident_tax"]["total"] = -291000
    lines = [
        json.dumps({"certificate": _cert("B2"), "category": "pension", "data": sample("pension")}),
        json.dumps({"certificate": _cert("B2"), "category": "income", "data": bad}),
        json.dumps({"certificate": _cert("B2"), "category": "tax", "data": {}}),
        json.dumps({"certificate": _cert("B2"), "category": "income", "data": sample("income"),
                    "individual_number": "123456789018"}),
        "{oops",
    ]  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = _idp("selfinfo", "import", str(path))
    assert code == 1
    assert "  loaded           1" in out.splitlines()
    assert "  rejected         4" in out.splitlines()
    tail = out.split("rejected:\n", 1)[1].splitlines()
    assert tail[0] == (
        "  line 2: data does not match the income schema: data.resident_tax.total: must be ≥ 0"
    )
    assert tail[1] == "  line 3: unknown category 'tax'"
    assert tail[2].startswith("  line 4: field 'individual_number' is named like a My Number")
    assert tail[3].startswith("  line 5: is not valid JSON")
    assert "291000" not in out
    assert "123456789018" not in out
    assert list(_stored(env)) == ["pension"]


def test_json_option_prints_one_object_per_line(env, tmp_path):
    path = tmp_path / "one.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["issuer_hash", "serial", "category", "data"])
        writer.writerow([ISSUER_HASH, "C3", "income", json.dumps(sample("income"))])
        writer.writerow([ISSUER_HASH, "C3", "pension", "{}"])
    code, out, _ = _idp("selfinfo", "import", "--json", str(path))
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["line"] == 3
    assert lines[0]["reason"].startswith("data does not match the pension schema: data: missing")
    assert lines[1] == {
        "file": "one.csv",
        "records": 2,
        "loaded": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "accounts_created": 1,
    }


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.xml", "<x/>", "cannot tell the format of data.xml"),
        ("data.csv", "account,category,data,my_number\n", "named like a My Number"),
        ("data.csv", "who,what\n", "unknown column(s) 'who', 'what'"),
    ],
)
def test_a_file_that_cannot_be_imported_exits_2_and_imports_nothing(
    env, tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, out, err = _idp("selfinfo", "import", str(path))
    assert code == 2
    assert out == ""
    assert expected in err
    assert "nothing was imported" in err
    assert _stored(env) == {}


def test_a_missing_file_is_a_usage_error(env, tmp_path):
    code, _, err = _idp("selfinfo", "import", str(tmp_path / "absent.jsonl"))
    assert code == 2
    assert "does not exist" in err


def test_the_installed_command_imports_without_a_progress_bar_when_not_a_terminal(env, tmp_path):
    path = tmp_path / "data.jsonl"
    record = {"certificate": _cert("D4"), "category": "income", "data": sample("income")}
    path.write_text(jsonl(record), encoding="utf-8")
    result = subprocess.run(
        [str(IDP), "selfinfo", "import", str(path)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "  loaded           1"
    assert "importing" not in result.stderr


def test_a_database_not_at_the_newest_migration_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/new.sqlite3")
    monkeypatch.setenv("IDP_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.setenv("IDP_ENV", "development")
    path = tmp_path / "data.jsonl"
    path.write_text(jsonl({"account": "a", "category": "income", "data": {}}), encoding="utf-8")
    code, out, err = _idp("selfinfo", "import", str(path))
    assert code == 2
    assert out == ""
    assert "run `idp db upgrade`" in err
