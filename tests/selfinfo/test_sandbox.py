"""``jpki-sandbox selfinfo``: an import file for every card, keyed like the IdP's bindings."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from idp.login.accounts import issuer_hash, serial_of
from idp.selfinfo.formats import read
from idp.selfinfo.importer import Importer
from idp.selfinfo.records import check_record
from idp.storage.accounts import CertificateBinding
from idp.storage.db import db
from idp.storage.selfinfo import SelfInformation
from sandbox import selfinfo
from sandbox.citizens import SAMPLE_CITIZENS, Citizen, Gender
from sandbox.profiles import CertKind
from sandbox.state import SandboxState

SANDBOX = Path(sys.executable).with_name("jpki-sandbox")
ELDER = Citizen(
    "鈴木　一", "福岡県福岡市中央区天神一丁目一番一号", dt.date(1948, 3, 3), Gender.MALE
)


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> SandboxState:
    state = SandboxState.init(tmp_path_factory.mktemp("selfinfo") / "state")
    for citizen in (*SAMPLE_CITIZENS, ELDER):
        state.issue_card(citizen, "1234", "ABC123")
    return state


@pytest.mark.parametrize("today", ["2026-11-22", "2027-05-31", "2040-01-01", "2010-06-01"])
def test_every_record_passes_the_idp_checks_whatever_the_date(state, today):
    records = list(selfinfo.records(state, dt.date.fromisoformat(today)))
    assert len(records) == 5 * len(state.card_ids())
    for record in records:
        check_record(record)  # raises Rejected with the reason


def test_records_are_keyed_by_the_binding_a_first_login_makes(state):
    keys = {json.dumps(r["certificate"], sort_keys=True) for r in selfinfo.records(state)}
    expected = set()
    for card_id in state.card_ids():
        certificate = state.certificate(card_id, CertKind.AUTH)
        validated = SimpleNamespace(certificate=certificate)
        not_after = int(certificate.not_valid_after_utc.timestamp())
        key = {"issuer_hash": issuer_hash(validated), "serial": serial_of(validated),
               "not_after": not_after}  # fmt: skip
        expected.add(json.dumps(key, sort_keys=True))
    assert keys == expected


def test_the_same_card_gets_the_same_data(state):
    today = dt.date(2026, 11, 22)
    assert list(selfinfo.records(state, today)) == list(selfinfo.records(state, today))


def test_command_writes_a_file_the_idp_imports(app, state, tmp_path):
    out = tmp_path / "selfinfo.jsonl"
    result = subprocess.run(
        [str(SANDBOX), "--state", str(state.root), "selfinfo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote 20 records for 4 cards to {out}" in result.stderr
    with app.app_context():
        importer = Importer()
        for item in read(out, "jsonl"):
            importer.add(item)
        summary = importer.finish()
        assert (summary.loaded, summary.accounts_created, summary.rejected) == (20, 4, [])
        assert db.session.query(CertificateBinding).count() == 4
        heads = {
            row.document()["head_of_household"]
            for row in db.session.execute(
                db.select(SelfInformation).filter_by(category="household")
            ).scalars()
        }
    assert heads == {c.name for c in (*SAMPLE_CITIZENS, ELDER)}


def test_command_writes_to_standard_output_by_default(state):
    result = subprocess.run(
        [str(SANDBOX), "--state", str(state.root), "selfinfo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 20
    assert {line["category"] for line in lines} == {
        "income", "household", "health_insurance", "pension", "child_benefit",
    }  # fmt: skip
