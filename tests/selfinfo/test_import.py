"""Importing JSONL and CSV into the database: idempotent, per-record, keyed by the account or
the user-authentication certificate (never the My Number), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from idp.selfinfo.formats import ImportFileError, detect_format, read, survey
from idp.selfinfo.importer import Importer
from idp.storage.accounts import Account, CertificateBinding
from idp.storage.db import db
from idp.storage.selfinfo import SelfInformation
from tests.selfinfo.samples import SAMPLES, jsonl, make_account, sample

ISSUER_HASH = "5f" * 32


def _import(app, path, fmt=None):
    with app.app_context():
        importer = Importer()
        fmt = detect_format(path, fmt)
        survey(path, fmt)
        for item in read(path, fmt):
            importer.add(item)
        return importer.finish()


def _rows(app):
    with app.app_context():
        rows = db.session.execute(db.select(SelfInformation)).scalars()
        return {(r.account_id, r.category): (r.document(), r.as_of) for r in rows}


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _csv(rows, header=("account", "category", "as_of", "data")) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def test_jsonl_loads_every_category_then_is_unchanged(app, tmp_path):
    account = make_account(app)
    records = [
        {"account": account, "category": c, "data": d, "as_of": "2026-06-01"}
        for c, d in SAMPLES.items()
    ]
    path = _write(tmp_path, "data.jsonl", jsonl(*records))
    summary = _import(app, path)
    assert (summary.loaded, summary.updated, summary.unchanged, summary.rejected) == (5, 0, 0, [])
    assert _rows(app) == {(account, c): (d, "2026-06-01") for c, d in SAMPLES.items()}
    with app.app_context():
        before = {
            r.id: r.updated_at for r in db.session.execute(db.select(SelfInformation)).scalars()
        }
    again = _import(app, path)
    assert (again.loaded, again.updated, again.unchanged, again.rejected) == (0, 0, 5, [])
    with app.app_context():
        after = {
            r.id: r.updated_at for r in db.session.execute(db.select(SelfInformation)).scalars()
        }
    assert after == before


def test_changed_data_or_as_of_is_updated(app, tmp_path):
    account = make_account(app)
    first = {"account": account, "category": "pension", "data": sample("pension")}
    _import(app, _write(tmp_path, "a.jsonl", jsonl(first)))
    changed = sample("pension")
    changed["contribution_months"]["total"] = 217
    summary = _import(app, _write(tmp_path, "b.jsonl", jsonl({**first, "data": changed})))
    assert (summary.loaded, summary.updated) == (0, 1)
    summary = _import(
        app, _write(tmp_path, "c.jsonl", jsonl({**first, "data": changed, "as_of": "2026-07-01"}))
    )
    assert summary.updated == 1
    assert _rows(app)[(account, "pension")] == (changed, "2026-07-01")


def test_as_of_defaults_to_the_day_of_loading_in_japan(app, tmp_path):
    account = make_account(app)
    record = {"account": account, "category": "income", "data": sample("income")}
    with app.app_context():
        importer = Importer(now=1_767_193_200)  # 2025-12-31 15:00 UTC = 2026-01-01 00:00 JST
        for item in read(_write(tmp_path, "d.jsonl", jsonl(record)), "jsonl"):
            importer.add(item)
        importer.finish()
    assert _rows(app)[(account, "income")][1] == "2026-01-01"


def test_csv_with_data_as_json_string_is_loaded(app, tmp_path):
    account = make_account(app)
    rows = [
        (account, c, "2026-06-01", json.dumps(d, ensure_ascii=False)) for c, d in SAMPLES.items()
    ]
    path = _write(tmp_path, "data.csv", "\ufeff" + _csv(rows))  # as Excel saves it
    summary = _import(app, path)
    assert (summary.loaded, summary.rejected) == (5, [])
    assert _rows(app)[(account, "household")] == (SAMPLES["household"], "2026-06-01")
    assert _import(app, path).unchanged == 5


def test_csv_keyed_by_certificate_columns(app, tmp_path):
    header = ("issuer_hash", "serial", "not_after", "category", "data")
    rows = [(ISSUER_HASH, "1a2b", "1900000000", "income", json.dumps(sample("income")))]
    summary = _import(app, _write(tmp_path, "cert.csv", _csv(rows, header)))
    assert (summary.loaded, summary.accounts_created, summary.rejected) == (1, 1, [])


def test_unknown_certificate_creates_the_account_and_its_binding(app, tmp_path):
    key = {"issuer_hash": ISSUER_HASH, "serial": "0a1b2c", "not_after": 1_900_000_000}
    records = [
        {"certificate": key, "category": "income", "data": sample("income")},
        {"certificate": key, "category": "pension", "data": sample("pension")},
    ]
    path = _write(tmp_path, "cert.jsonl", jsonl(*records))
    summary = _import(app, path)
    assert (summary.loaded, summary.accounts_created) == (2, 1)
    with app.app_context():
        binding = db.session.execute(db.select(CertificateBinding)).scalar_one()
        assert (binding.issuer_hash, binding.serial, binding.not_after) == (
            ISSUER_HASH, "A1B2C", 1_900_000_000,
        )  # fmt: skip
        assert db.session.get(Account, binding.account_id) is not None
    assert set(_rows(app)) == {(binding.account_id, "income"), (binding.account_id, "pension")}
    again = _import(app, path)
    assert (again.unchanged, again.accounts_created) == (2, 0)


def test_known_certificate_finds_the_card_login_account(app, tmp_path):
    account = make_account(app)
    with app.app_context():
        db.session.add(
            CertificateBinding(
                account_id=account, issuer_hash=ISSUER_HASH, serial="FF", not_after=1
            )
        )
        db.session.commit()
    record = {"certificate": {"issuer_hash": ISSUER_HASH, "serial": "ff"}, "category": "income",
              "data": sample("income")}  # fmt: skip
    summary = _import(app, _write(tmp_path, "k.jsonl", jsonl(record)))
    assert (summary.loaded, summary.accounts_created) == (1, 0)
    assert set(_rows(app)) == {(account, "income")}


def test_bad_records_are_rejected_with_line_and_reason_and_the_rest_loaded(app, tmp_path):
    account = make_account(app)
    bad_schema = sample("income")
    bad_schema["taxable"] = "yes"
    lines = [
        json.dumps({"account": account, "category": "income", "data": sample("income")}),
        "",
        '{"account": "' + account + '", "category": "pension", "data": {',
        json.dumps({"account": account, "category": "tax_id", "data": {}}),
        json.dumps({"account": account, "category": "income", "data": bad_schema}),
        json.dumps({"account": "nobody", "category": "pension", "data": sample("pension")}),
        json.dumps({"account": account, "category": "household", "data": sample("household"),
                    "my_number": "123456789018"}),
        '{"account": "' + account + '", "account": "x", "category": "income", "data": {}}',
        json.dumps({"account": account, "category": "pension", "data": sample("pension")}),
        "[1, 2]",
        '{"account": "a", "category": "income", "data": NaN}',
    ]  # fmt: skip
    path = _write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n")
    summary = _import(app, path)
    assert (summary.loaded, summary.updated, summary.unchanged) == (2, 0, 0)
    reasons = dict(summary.rejected)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 10, 11]
    assert reasons[3].startswith("is not valid JSON")
    assert reasons[4] == "unknown category 'tax_id'"
    assert reasons[5] == (
        "data does not match the income schema: data.taxable: must be of type 'boolean'"
    )
    assert reasons[6] == "unknown account: no account has this id"
    assert "My Number" in reasons[7]
    assert "123456789018" not in reasons[7]
    assert "'account' appears twice" in reasons[8]
    assert "JSON object" in reasons[10]
    assert "NaN is not a JSON number" in reasons[11]
    assert set(_rows(app)) == {(account, "income"), (account, "pension")}
    assert not any(account in reason for reason in reasons.values())


def test_two_different_records_for_one_account_and_category_reject_the_second(app, tmp_path):
    account = make_account(app)
    changed = sample("income")
    changed["fiscal_year"] = 2025
    records = [
        {"account": account, "category": "income", "data": sample("income")},
        {"account": account, "category": "income", "data": sample("income")},
        {"account": account, "category": "income", "data": changed},
    ]
    summary = _import(app, _write(tmp_path, "dup.jsonl", jsonl(*records)))
    assert (summary.loaded, summary.unchanged) == (1, 1)
    assert summary.rejected == [
        (3, "line 1 already gave this account's income; a file holds one record per account "
            "and category"),
    ]  # fmt: skip
    assert _rows(app)[(account, "income")][0] == SAMPLES["income"]


def test_csv_row_problems_are_rejected_per_row(app, tmp_path):
    account = make_account(app)
    rows = [
        (account, "income", "", json.dumps(sample("income"))),
        (account, "pension", "", "{not json"),
        (account, "pension", "", ""),
        (account, "pension"),
        (account, "household", "2026-13-01", json.dumps(sample("household"))),
    ]
    summary = _import(app, _write(tmp_path, "rows.csv", _csv(rows)))
    assert summary.loaded == 1
    assert [line for line, _ in summary.rejected] == [3, 4, 5, 6]
    reasons = [reason for _, reason in summary.rejected]
    assert reasons[0].startswith("'data' is not valid JSON")
    assert reasons[1] == "'data' is empty"
    assert reasons[2] == "expected 4 cells, found 2"
    assert reasons[3] == "'as_of' must be a date, YYYY-MM-DD"


def test_csv_line_numbers_count_quoted_newlines(app, tmp_path):
    account = make_account(app)
    pretty = json.dumps(sample("income"), indent=1)  # a multi-line cell
    rows = [(account, "income", "", pretty), (account, "nothing", "", "{}")]
    summary = _import(app, _write(tmp_path, "multi.csv", _csv(rows)))
    assert summary.loaded == 1
    assert summary.rejected == [(2 + pretty.count("\n") + 1, "unknown category 'nothing'")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("account,category,data,my_number", "named like a My Number"),
        ("account,category,data,kojin_bango", "named like a My Number"),
        ("account,category,data,ｍｙ＿ｎｕｍｂｅｒ", "named like a My Number"),
        ("account,category,data,1234 5678 9018", "a column name holds a 12-digit number"),
        ("account,category,data,name", "unknown column(s) 'name'"),
        ("account,category,category,data", "named twice"),
        ("account,data", "the header needs"),
        ("serial,category,data", "the header needs"),
    ],
)
def test_csv_header_problems_refuse_the_whole_file(app, tmp_path, header, expected):
    path = _write(tmp_path, "h.csv", header + "\nx,income,{},1\n")
    with pytest.raises(ImportFileError, match=re.escape(expected)):
        _import(app, path)
    assert _rows(app) == {}


def test_files_we_cannot_read_are_refused(app, tmp_path):
    with pytest.raises(ImportFileError, match="cannot tell the format"):
        _import(app, _write(tmp_path, "data.txt", "{}"))
    with pytest.raises(ImportFileError, match="no header row"):
        _import(app, _write(tmp_path, "empty.csv", "\n\n"))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"account,category,data\n" + "é,income,{}\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="not UTF-8 text \\(near line 2\\)"):
        _import(app, bad)


def test_a_jsonl_line_that_is_not_utf8_is_rejected_alone(app, tmp_path):
    account = make_account(app)
    path = tmp_path / "mixed.jsonl"
    good = json.dumps({"account": account, "category": "income", "data": sample("income")})
    path.write_bytes(b'{"category": "\xff"}\n' + good.encode() + b"\n")
    summary = _import(app, path)
    assert (summary.loaded, summary.rejected) == (1, [(1, "line is not UTF-8 text")])


def test_format_option_overrides_the_file_name(app, tmp_path):
    account = make_account(app)
    record = {"account": account, "category": "income", "data": sample("income")}
    path = _write(tmp_path, "export.txt", jsonl(record))
    assert _import(app, path, "jsonl").loaded == 1


def _store_concurrently(account: str, data: dict) -> None:
    """Another process stores the same account and category (its own connection, committed)."""
    from idp.storage.selfinfo import canonical_json, content_hash

    with db.engine.begin() as connection:
        connection.execute(
            SelfInformation.__table__.insert().values(
                account_id=account,
                category="income",
                data=canonical_json(data),
                content_hash=content_hash(data, None),
                as_of="2024-06-01",
                updated_at=1,
            )
        )


@pytest.mark.parametrize("conflict_at", ["next_record", "final_commit"])
def test_a_row_written_concurrently_makes_the_batch_replay_record_by_record(
    app, tmp_path, conflict_at
):
    account, other = make_account(app), make_account(app)
    records = [{"account": account, "category": "income", "data": sample("income")}]
    if conflict_at == "next_record":  # its staging flushes the first: the conflict shows there
        records.append({"account": other, "category": "income", "data": sample("income")})
    concurrent = sample("income")
    concurrent["fiscal_year"] = 2024
    with app.app_context():
        importer = Importer(batch=10)
        items = list(read(_write(tmp_path, "race.jsonl", jsonl(*records)), "jsonl"))
        importer.add(items[0])  # staged, not yet written
        _store_concurrently(account, concurrent)
        for item in items[1:]:
            importer.add(item)
        summary = importer.finish()
    assert (summary.loaded, summary.updated, summary.rejected) == (len(records) - 1, 1, [])
    assert _rows(app)[(account, "income")][0] == SAMPLES["income"]
