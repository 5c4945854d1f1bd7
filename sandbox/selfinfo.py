"""Plausible self-information for the sandbox's citizens, as ``idp selfinfo import`` reads it.

One JSONL record per card and category, keyed by the card's user-authentication certificate
(issuer hash, serial, not_after: what the IdP's certificate binding stores), so a demo can load
data before the card's first login. The figures are invented but shaped like Mynaportal's
(resident tax at 10 %, child allowance by age, pension months since 20), and drawn from a
generator seeded by the card id: the same card always gets the same data. No My Number: the
sandbox's cards have none to give.

The sandbox never imports ``idp`` (docs/architecture.md §1); the field names follow
``idp/selfinfo/schemas/*.json`` and tests/selfinfo check the output against them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

from cryptography import x509

from sandbox.citizens import PREFECTURES, Citizen, Gender
from sandbox.profiles import CertKind
from sandbox.state import SandboxState

SPOUSES = {Gender.MALE: ("美咲", "female"), Gender.FEMALE: ("健太", "male")}
CHILDREN = (("陽菜", "female"), ("蓮", "male"), ("結衣", "female"))


def records(state: SandboxState, today: dt.date | None = None) -> Iterator[dict[str, Any]]:
    """Every card's five categories, card by card."""
    today = today or dt.date.today()
    for card_id in state.card_ids():
        key = certificate_key(state.certificate(card_id, CertKind.AUTH))
        citizen = state.card(card_id).citizen()
        rng = random.Random(card_id)  # noqa: S311 (invented figures, not secrets)
        household = _household(citizen, today, rng)
        documents = {
            "income": _income(citizen, today, rng),
            "household": household,
            "health_insurance": _health_insurance(citizen, today, rng),
            "pension": _pension(citizen, today, rng),
            "child_benefit": _child_benefit(citizen, household, today),
        }
        for category, data in documents.items():
            yield {
                "certificate": key,
                "category": category,
                "as_of": today.isoformat(),
                "data": data,
            }


def certificate_key(certificate: x509.Certificate) -> dict[str, Any]:
    """The binding the IdP makes for this certificate at its first login."""
    return {
        "issuer_hash": hashlib.sha256(certificate.issuer.public_bytes()).hexdigest(),
        "serial": f"{certificate.serial_number:X}",
        "not_after": int(certificate.not_valid_after_utc.timestamp()),
    }


def write_jsonl(state: SandboxState, out, today: dt.date | None = None) -> int:
    """Write the records to a text stream; return how many."""
    count = 0
    for record in records(state, today):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _age(birthdate: dt.date, today: dt.date) -> int:
    before_birthday = (today.month, today.day) < (birthdate.month, birthdate.day)
    return today.year - birthdate.year - before_birthday


def _municipality(citizen: Citizen) -> str:
    rest = citizen.address.removeprefix(citizen.prefecture)
    end = next((i for i, c in enumerate(rest) if c in "市区町村"), len(rest) - 1)
    return citizen.prefecture + rest[: end + 1]


def _family_name(citizen: Citizen) -> str:
    return citizen.name.split("\u3000")[0]


def _income(citizen: Citizen, today: dt.date, rng: random.Random) -> dict[str, Any]:
    fiscal_year = today.year if today.month >= 6 else today.year - 1  # notices go out in June
    age = _age(citizen.birthdate, today)
    salary = rng.randrange(2_400, 7_200) * 1_000 if 20 <= age < 65 else 0
    pension = rng.randrange(1_200, 2_400) * 1_000 if age >= 65 else 0
    total = salary + pension
    social = salary * 15 // 100
    deductions = 430_000 + social if total else 0
    taxable_income = max(0, total - deductions) // 1_000 * 1_000
    municipal, prefectural = taxable_income * 6 // 100, taxable_income * 4 // 100
    income: dict[str, Any] = {"total": total}
    if salary:
        income["salary"] = salary
    if pension:
        income["pension"] = pension
    return {
        "fiscal_year": fiscal_year,
        "income_year": fiscal_year - 1,
        "municipality": _municipality(citizen),
        "taxable": taxable_income > 0,
        "income": income,
        "deductions": {
            "total": deductions,
            "basic": 430_000 if total else 0,
            "social_insurance": social,
        },
        "taxable_income": taxable_income,
        "resident_tax": {
            "municipal": municipal,
            "prefectural": prefectural,
            "total": municipal + prefectural,
        },
    }


def _household(citizen: Citizen, today: dt.date, rng: random.Random) -> dict[str, Any]:
    family = _family_name(citizen)
    members = [
        {
            "name": citizen.name,
            "relationship": "head",
            "birthdate": citizen.birthdate.isoformat(),
            "gender": str(citizen.gender),
            "is_self": True,
        },
    ]
    age = _age(citizen.birthdate, today)
    if 28 <= age < 60 and citizen.gender in SPOUSES:
        given, gender = SPOUSES[citizen.gender]
        birth = citizen.birthdate + dt.timedelta(days=rng.randrange(-900, 900))
        members.append(
            {
                "name": f"{family}\u3000{given}",
                "relationship": "spouse",
                "birthdate": birth.isoformat(),
                "gender": gender,
                "is_self": False,
            }
        )
        for index in range(rng.randrange(1, 3)):
            given, gender = CHILDREN[index]
            born = today - dt.timedelta(days=rng.randrange(365, 15 * 365))
            members.append(
                {
                    "name": f"{family}\u3000{given}",
                    "relationship": "child",
                    "birthdate": born.isoformat(),
                    "gender": gender,
                    "is_self": False,
                }
            )

    return {"address": citizen.address, "head_of_household": citizen.name, "members": members}


def _health_insurance(citizen: Citizen, today: dt.date, rng: random.Random) -> dict[str, Any]:
    age = _age(citizen.birthdate, today)
    prefecture_code = f"{list(PREFECTURES).index(citizen.prefecture) + 1:02d}"  # JIS X 0401
    if age >= 75:
        system, name = "late_stage_elderly", f"{citizen.prefecture}後期高齢者医療広域連合"
        number = f"39{prefecture_code}0001"
    elif age >= 65:
        system, name, number = "national_health_insurance", _municipality(citizen), "138123"
    else:
        system, name = "kyokai_kenpo", f"全国健康保険協会 {citizen.prefecture}支部"
        number = f"01{prefecture_code}0016"
    qualified = max(citizen.birthdate + dt.timedelta(days=22 * 365), today - dt.timedelta(3650))
    return {
        "system": system,
        "insurer_name": name,
        "insurer_number": number,
        "symbol": str(rng.randrange(1000, 9999)),
        "number": str(rng.randrange(1, 99999)),
        "branch": "00",
        "insured_type": "insured",
        "qualified_on": min(qualified, today).isoformat(),
        "lost_on": None,
        "copayment_percent": 10 if age >= 75 else 20 if age >= 70 else 30,
    }


def _pension(citizen: Citizen, today: dt.date, rng: random.Random) -> dict[str, Any]:
    age = _age(citizen.birthdate, today)
    months = max(0, min(age, 60) - 20) * 12
    national = min(months, 36)
    document: dict[str, Any] = {
        "insured_category": "none" if age >= 60 or age < 20 else "category_2",
        "contribution_months": {
            "national_pension": national,
            "employees_pension": months - national,
            "total": months,
        },
        "receiving": age >= 65,
    }
    if age >= 65:
        since = dt.date(citizen.birthdate.year + 65, citizen.birthdate.month, 1).isoformat()
        document["benefits"] = [
            {"kind": "old_age_basic", "annual_amount": 816_000 * months // 480, "since": since},
            {
                "kind": "old_age_employees",
                "annual_amount": rng.randrange(600, 1_200) * 1_000,
                "since": since,
            },
        ]
    elif age >= 20:
        document["estimated_annual_amount"] = 816_000 + rng.randrange(400, 1_200) * 1_000
        document["start_age"] = 65
    return document


def _child_benefit(citizen: Citizen, household: dict, today: dt.date) -> dict[str, Any]:
    children = []
    for order, member in enumerate(
        (m for m in household["members"] if m["relationship"] == "child"), start=1
    ):
        age = _age(dt.date.fromisoformat(member["birthdate"]), today)
        if age < 18:
            amount = 30_000 if order >= 3 else 15_000 if age < 3 else 10_000
            children.append(
                {
                    "name": member["name"],
                    "birthdate": member["birthdate"],
                    "birth_order": order,
                    "monthly_amount": amount,
                }
            )
    document: dict[str, Any] = {
        "recipient": bool(children),
        "municipality": _municipality(citizen),
        "children": children,
        "monthly_total": sum(c["monthly_amount"] for c in children),
    }
    if children:
        document["payment_months"] = [2, 4, 6, 8, 10, 12]
    return document
