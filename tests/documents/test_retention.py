"""``idp documents purge`` (docs/documents.md §Keeping), on both databases: what can never be
signed loses its PDFs at once, every finished request is deleted after the retention period,
a pending request before its deadline is never touched, a row changed between selection and
statement is left alone, and the citizen's access history stays whole. The clock is a
parameter (``now``): nothing sleeps."""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select, update

from idp.config import ConfigError, load_config
from idp.documents import retention
from idp.documents.cli import documents_group as documents
from idp.documents.retention import CLOCK_SKEW, DAY
from idp.storage.documents import PENDING, SIGNED, DocumentRequest
from tests.documents.conftest import open_review, sample_pdf

RETENTION = 30 * DAY
BLOBS = ("pdf", "prepared_pdf", "prepared_attrs", "prepared_digest", "prepared_range")
COLUMNS = (*BLOBS, "status", "account_id", "signed_at", "cms", "signed_pdf")


def _pdf_document(bank, expires_in: int = 900) -> dict:
    pdf = base64.b64encode(sample_pdf()).decode("ascii")
    return bank.document(digest=None, pdf=pdf, expires_in=expires_in)


def _prepared(bank, expires_in: int = 900) -> dict:
    """A pending PDF request with a prepared attempt (the prepared PDF and attributes stored)."""
    answer = _pdf_document(bank, expires_in)
    open_review(bank.rp.http, answer["document_id"]).to_sign()
    return answer


def _signed(bank, world, pdf: bool = True) -> dict:
    answer = _pdf_document(bank) if pdf else bank.document()
    response = open_review(bank.rp.http, answer["document_id"]).sign(world.good)
    assert response.status_code == 303, response.get_data(as_text=True)
    return answer


def _declined(bank) -> dict:
    answer = _prepared(bank)
    assert open_review(bank.rp.http, answer["document_id"]).decline().status_code == 303
    return answer


def _row(app, document_id: str) -> dict | None:
    """The stored state of a request (None once deleted); blobs as their presence only."""
    from idp.storage.db import db

    with app.app_context():
        row = db.session.get(DocumentRequest, document_id)
        if row is None:
            return None
        return {name: getattr(row, name) for name in COLUMNS} | {"expires_at": row.expires_at}


def _all_rows(app) -> dict:
    from idp.storage.db import db

    with app.app_context():
        ids = db.session.scalars(select(DocumentRequest.id)).all()
    return {document_id: _row(app, document_id) for document_id in ids}


def _purge(app, now: int, retention_seconds: int = RETENTION, **options) -> tuple[int, int]:
    with app.app_context():
        done = retention.purge(now, retention_seconds, **options)
    return done.deleted, done.cleared


def _blobs(row: dict) -> dict:
    return {name: row[name] is not None for name in BLOBS}


def _insert(app, count: int, **values) -> list[str]:
    """``count`` requests written directly, ``values`` overriding a pending digest request."""
    from idp.storage.db import db

    now = int(time.time())
    with app.app_context():
        rows = [
            DocumentRequest(
                id=secrets.token_urlsafe(32), client_id="c", client_name="Sample Bank", sub="s",
                title="t", summary="s", digest="A" * 43,
                redirect_uri="https://bank.example/cb", created_at=now, expires_at=now + 900,
            )
            for _ in range(count)
        ]  # fmt: skip
        for row in rows:
            for name, value in values.items():
                setattr(row, name, value)
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


# --- what each kind of request becomes ---------------------------------------------------


def test_an_expired_pending_request_loses_its_pdfs_then_its_row(app, bank):
    answer = _prepared(bank, expires_in=60)
    expires_at = answer["expires_at"]
    assert all(_blobs(_row(app, answer["document_id"])).values())

    assert _purge(app, expires_at + 1) == (0, 0)  # within the clock skew a lagging node allows
    assert all(_blobs(_row(app, answer["document_id"])).values())

    assert _purge(app, expires_at + CLOCK_SKEW) == (0, 1)
    row = _row(app, answer["document_id"])
    assert not any(_blobs(row).values())
    assert row["status"] == PENDING
    status = bank.status(answer["document_id"])
    assert status.status_code == 200  # still answered (pending by this test's real clock)

    assert _purge(app, expires_at + RETENTION - 1) == (0, 0)
    assert _purge(app, expires_at + RETENTION) == (1, 0)
    assert _row(app, answer["document_id"]) is None
    assert bank.status(answer["document_id"]).status_code == 404


def test_a_pending_request_before_its_deadline_is_never_touched(app, bank, world):
    answer = _prepared(bank)
    before = _row(app, answer["document_id"])
    now = int(time.time())
    for at, keep in ((now, RETENTION), (answer["expires_at"] - 1, 0), (now, 0)):
        assert _purge(app, at, keep) == (0, 0)
        assert _purge(app, at, keep, dry_run=True) == (0, 0)
    assert _row(app, answer["document_id"]) == before
    page = open_review(bank.rp.http, answer["document_id"])
    assert page.sign(world.good).status_code == 303  # still whole: it signs
    assert bank.status(answer["document_id"]).json["status"] == "signed"


def test_a_declined_request_loses_its_prepared_data_then_its_row(app, bank):
    answer = _declined(bank)
    row = _row(app, answer["document_id"])
    assert row["pdf"] is None  # what decline left
    assert row["prepared_attrs"] is not None
    assert _purge(app, int(time.time())) == (0, 1)  # at once: it can never be signed
    assert not any(_blobs(_row(app, answer["document_id"])).values())
    assert bank.status(answer["document_id"]).json["status"] == "declined"

    assert _purge(app, answer["expires_at"] + RETENTION - 1) == (0, 0)
    assert _purge(app, answer["expires_at"] + RETENTION) == (1, 0)
    assert bank.status(answer["document_id"]).status_code == 404


def test_a_signed_request_stays_fetchable_within_the_retention(app, bank, world):
    answer = _signed(bank, world)
    signed = bank.status(answer["document_id"]).json
    before = _row(app, answer["document_id"])
    assert _purge(app, signed["signed_at"] + RETENTION - 1) == (0, 0)
    assert _row(app, answer["document_id"]) == before
    assert bank.status(answer["document_id"]).json == signed
    pdf = bank.status(answer["document_id"], "/signed.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")


def test_a_signed_request_is_deleted_after_the_retention_and_answers_404(app, bank, world):
    answer = _signed(bank, world)
    signed_at = bank.status(answer["document_id"]).json["signed_at"]
    unknown = bank.status("A" * 43)
    assert _purge(app, signed_at + RETENTION) == (1, 0)
    assert _row(app, answer["document_id"]) is None
    gone = bank.status(answer["document_id"])
    assert (gone.status_code, gone.json) == (404, unknown.json)  # as for an unknown id
    assert bank.status(answer["document_id"], "/signed.pdf").status_code == 404
    review = bank.rp.http.get(f"/documents/{answer['document_id']}/review?lang=en")
    assert review.status_code == 404


def test_the_signed_clock_is_signed_at_not_the_deadline(app, bank, world):
    answer = _signed(bank, world, pdf=False)
    signed_at = bank.status(answer["document_id"]).json["signed_at"]
    assert answer["expires_at"] > signed_at
    assert _purge(app, signed_at + RETENTION - 1) == (0, 0)
    assert _purge(app, signed_at + RETENTION) == (1, 0)


# --- dry run, repetition, batches ----------------------------------------------------------


def _one_of_each(app, bank, world) -> dict:
    return {
        "expired": _prepared(bank, expires_in=60),
        "declined": _declined(bank),
        "signed": _signed(bank, world),
        "pending": _prepared(bank, expires_in=3600),
    }


def test_a_dry_run_counts_what_a_run_does_and_changes_nothing(app, bank, world):
    made = _one_of_each(app, bank, world)
    before = _all_rows(app)
    now = int(time.time())
    soon = now + 60 + CLOCK_SKEW  # the expired one and the declined one lose their data
    later = now + RETENTION + 1000  # all but the pending one are gone; it has expired too
    assert _purge(app, soon, dry_run=True) == (0, 2)
    assert _purge(app, later, dry_run=True) == (3, 1)
    assert _all_rows(app) == before
    assert _purge(app, soon) == (0, 2)
    assert _purge(app, later) == (3, 1)
    rows = _all_rows(app)
    assert set(rows) == {made["pending"]["document_id"]}
    assert not any(_blobs(rows[made["pending"]["document_id"]]).values())


def test_running_twice_is_harmless(app, bank, world):
    made = _one_of_each(app, bank, world)
    soon = int(time.time()) + 60 + CLOCK_SKEW
    assert _purge(app, soon) == (0, 2)
    after_first = _all_rows(app)
    assert _purge(app, soon) == (0, 0)
    assert _purge(app, soon, dry_run=True) == (0, 0)
    assert _all_rows(app) == after_first
    assert bank.status(made["signed"]["document_id"]).json["status"] == "signed"


def test_more_rows_than_a_batch_are_done_in_bounded_statements(app):
    from idp.storage.db import db

    long_ago = int(time.time()) - RETENTION - DAY
    old = _insert(app, 10, status=SIGNED, signed_at=long_ago, cms=b"cms", account_id="a")
    dead = _insert(app, 7, status="declined", prepared_attrs=b"attrs", prepared_digest="d" * 43)
    young = _insert(app, 3, status=SIGNED, signed_at=int(time.time()), cms=b"cms")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("DELETE", "UPDATE")):
            statements.append(statement.lstrip().split()[0].upper())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            done = retention.purge(int(time.time()), RETENTION, batch_size=4)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert (done.deleted, done.cleared) == (10, 7)
    assert statements == ["DELETE"] * 3 + ["UPDATE"] * 2  # ceil(10/4), ceil(7/4)
    rows = _all_rows(app)
    assert set(rows) == set(dead) | set(young)
    assert not any(any(_blobs(rows[i]).values()) for i in dead)
    assert all(rows[i]["cms"] == b"cms" for i in young)
    assert not set(old) & set(rows)


def test_a_batch_size_of_one_still_finishes(app):
    long_ago = int(time.time()) - RETENTION - DAY
    _insert(app, 5, status="declined", expires_at=long_ago)
    assert _purge(app, int(time.time()), batch_size=1) == (5, 0)
    assert _all_rows(app) == {}


# --- concurrency: the statements check the state again ------------------------------------


def _selected(app, condition) -> list[str]:
    from idp.storage.db import db

    with app.app_context():
        return list(db.session.scalars(select(DocumentRequest.id).where(condition)))


def _apply(app, statement, ids: list[str], condition) -> int:
    from idp.storage.db import db

    with app.app_context():
        result = db.session.execute(statement(ids, condition))
        db.session.commit()
        return result.rowcount


def _signed_meanwhile(app, document_id: str, at: int) -> None:
    """Between the purge's selection and its statement the request becomes signed at ``at``."""
    from idp.storage.db import db

    with app.app_context():
        db.session.execute(
            update(DocumentRequest)
            .where(DocumentRequest.id == document_id)
            .values(status=SIGNED, account_id="a", signed_at=at, cms=b"cms")
        )
        db.session.commit()


def test_a_request_signed_between_selection_and_delete_is_not_deleted(app):
    now = int(time.time())
    (document_id,) = _insert(app, 1, expires_at=now - RETENTION, pdf=b"%PDF-1.7")
    condition = retention.deletable(now, RETENTION)
    assert _selected(app, condition) == [document_id]
    _signed_meanwhile(app, document_id, now)
    assert _apply(app, retention.delete_batch, [document_id], condition) == 0
    row = _row(app, document_id)
    assert (row["status"], row["cms"], row["signed_at"]) == (SIGNED, b"cms", now)
    assert _purge(app, now) == (0, 0)
    assert _purge(app, now + RETENTION) == (1, 0)  # its own retention counts from signed_at


def test_a_request_signed_between_selection_and_clearing_keeps_everything(app):
    now = int(time.time())
    (document_id,) = _insert(app, 1, expires_at=now - CLOCK_SKEW, pdf=b"%PDF-1.7",
                             prepared_attrs=b"a")  # fmt: skip
    condition = retention.clearable(now)
    assert _selected(app, condition) == [document_id]
    _signed_meanwhile(app, document_id, now)
    assert _apply(app, retention.clear_batch, [document_id], condition) == 0
    row = _row(app, document_id)
    assert (row["status"], row["pdf"], row["prepared_attrs"]) == (SIGNED, b"%PDF-1.7", b"a")


def test_rows_another_node_deleted_meanwhile_count_once(app):
    long_ago = int(time.time()) - RETENTION - DAY
    ids = _insert(app, 3, status="declined", expires_at=long_ago)
    condition = retention.deletable(int(time.time()), RETENTION)
    assert sorted(_selected(app, condition)) == sorted(ids)
    assert _apply(app, retention.delete_batch, ids[:2], condition) == 2  # the other node
    assert _apply(app, retention.delete_batch, ids, condition) == 1
    assert _purge(app, int(time.time())) == (0, 0)


# --- the citizen's access history --------------------------------------------------------


def _history(app, account_id: str) -> list[tuple]:
    from idp.storage.consents import AccessRecord
    from idp.storage.db import db

    with app.app_context():
        rows = db.session.scalars(select(AccessRecord).where(AccessRecord.account_id == account_id))
        return sorted((r.id, r.client_id, r.client_name, r.kind, r.item, r.at) for r in rows)


def test_the_citizens_access_history_survives_the_purge(app, bank, world):
    answer = _signed(bank, world)
    signed_at = bank.status(answer["document_id"]).json["signed_at"]
    records = _history(app, "citizen-1")
    assert [(r[2], r[3], r[4]) for r in records] == [
        ("Sample Bank", "document_signature", "document:住宅ローン金銭消費貸借契約書")
    ]
    page = bank.rp.http.get("/account?lang=en")
    assert page.status_code == 200
    assert _purge(app, signed_at + RETENTION) == (1, 0)
    assert _row(app, answer["document_id"]) is None
    assert _history(app, "citizen-1") == records
    again = bank.rp.http.get("/account?lang=en")
    assert again.status_code == 200
    html = again.get_data(as_text=True)
    assert "Document signature" in html
    assert "Sample Bank" in html
    assert "住宅ローン金銭消費貸借契約書" in html  # the title, from the record alone
    assert html == page.get_data(as_text=True)


# --- the command ---------------------------------------------------------------------------


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_the_command_prints_one_json_line_of_counts(app):
    long_ago = int(time.time()) - RETENTION - DAY
    _insert(app, 2, status=SIGNED, signed_at=long_ago, cms=b"cms", account_id="a")
    _insert(app, 1, status="declined", pdf=b"%PDF-1.7")
    runner = app.test_cli_runner()
    dry = runner.invoke(documents, ["purge", "--dry-run"], catch_exceptions=False)
    assert dry.exit_code == 0
    assert _lines(dry.output) == [
        {"cleared": 1, "deleted": 2, "dry_run": True, "retention_days": 30}
    ]
    done = runner.invoke(documents, ["purge", "--batch-size", "1"], catch_exceptions=False)
    assert _lines(done.output) == [
        {"cleared": 1, "deleted": 2, "dry_run": False, "retention_days": 30}
    ]
    again = runner.invoke(documents, ["purge"], catch_exceptions=False)
    assert _lines(again.output) == [
        {"cleared": 0, "deleted": 0, "dry_run": False, "retention_days": 30}
    ]


def test_the_command_refuses_a_batch_size_below_one(app):
    result = app.test_cli_runner().invoke(documents, ["purge", "--batch-size", "0"])
    assert result.exit_code == 2
    assert "batch-size" in result.output


def test_the_output_names_no_personal_data(app, bank, world):
    from idp.storage.db import db

    answer = _signed(bank, world)
    with app.app_context():
        row = db.session.get(DocumentRequest, answer["document_id"])
        private = [row.id, row.sub, row.title, row.client_name, row.account_id]
        row.signed_at -= RETENTION  # signed 30 days ago
        db.session.commit()
    result = app.test_cli_runner().invoke(documents, ["purge"], catch_exceptions=False)
    assert _lines(result.output)[0]["deleted"] == 1
    assert not any(value in result.output for value in private)


@pytest.fixture
def idp(tmp_path, monkeypatch):
    """The real ``idp`` command on a fresh SQLite file, configured by a TOML file."""
    from idp.cli import main

    config = tmp_path / "idp.toml"
    config.write_text('environment = "development"\n[documents]\nretention_days = 7\n')
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("IDP_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("IDP_CONFIG", str(config))

    def invoke(*args):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def test_idp_documents_purge_is_a_command_of_idp_with_the_configured_retention(idp):
    code, out = idp("documents", "purge", "--dry-run")
    assert code == 1
    assert "idp db upgrade" in out  # an old schema is refused, nothing is touched
    assert idp("db", "upgrade")[0] == 0
    code, out = idp("documents", "purge", "--dry-run")
    assert code == 0
    assert _lines(out) == [{"cleared": 0, "deleted": 0, "dry_run": True, "retention_days": 7}]


# --- the setting ---------------------------------------------------------------------------


def test_the_retention_is_read_from_the_documents_block(tmp_path):
    config = tmp_path / "idp.toml"
    config.write_text('environment = "development"\n[documents]\nretention_days = 90\n')
    assert load_config({"IDP_CONFIG": str(config)}).documents.retention_days == 90
    assert load_config({"IDP_ENV": "development"}).documents.retention_days == 30


@pytest.mark.parametrize("value", ["0", "-1", '"a month"'])
def test_a_retention_below_one_day_is_refused(tmp_path, value):
    config = tmp_path / "idp.toml"
    config.write_text(f"[documents]\nretention_days = {value}\n")
    with pytest.raises(ConfigError, match=r"documents\.retention_days"):
        load_config({"IDP_CONFIG": str(config)})
