"""A deliberately simple affordability figure from the self-information the citizen shared.

Japanese banks screen a mortgage by the repayment ratio (返済負担率): the yearly repayments
may not exceed a share of income, computed at a screening rate higher than the actual rate.
Here: 30% of income below 4 million yen, 35% above; two points less per dependant in the
household; 3% screening rate over 35 years. Not advice, a demo of using the data. Without the
household (the citizen may decline to share it) the figure counts no dependants, and says so.

Rates and ratios are ``Decimal`` (0.35 - 0.02 is 0.33, not 0.32999999999999996, and the stored
contract rate is 1.80%, not 1.7999999999999998%); money is whole yen, rounded down.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

SCREENING_RATE = Decimal("0.03")
YEARS = 35
CONTRACT_RATE = Decimal("0.018")
ROUND_TO = 100_000
MAX_LOAN = 100_000_000


@dataclass(frozen=True)
class Affordability:
    income: int
    household_size: int | None
    """None when the household was not shared."""
    dependants: int
    ratio: Decimal
    monthly_capacity: int
    max_loan: int
    monthly_payment: int
    """At the contract rate, for ``max_loan``."""


def _annuity_factor(yearly_rate: Decimal, years: int) -> Decimal:
    """What one yen a month repays over ``years`` at ``yearly_rate`` (monthly compounding)."""
    rate, months = yearly_rate / 12, years * 12
    return (1 - (1 + rate) ** -months) / rate


def _yen(amount: Decimal, rounding: str = ROUND_DOWN) -> int:
    return int(amount.quantize(Decimal(1), rounding=rounding))


def percent(rate: Decimal, places: int = 2) -> Decimal:
    """``Decimal("0.018")`` → ``Decimal("1.80")``: a rate in percent, to ``places`` decimals."""
    return (rate * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def assess(income: dict, household: dict | None) -> Affordability:
    """From the ``income`` and (when shared) ``household`` documents of the self-information
    API."""
    total = int(income["data"]["income"]["total"])
    members = household["data"]["members"] if household else None
    dependants = sum(1 for m in members or () if not m.get("is_self"))
    ratio = Decimal("0.30" if total < 4_000_000 else "0.35") - Decimal("0.02") * dependants
    ratio = max(ratio, Decimal("0.20"))
    monthly = _yen(total * ratio / 12)
    loan = _yen(monthly * _annuity_factor(SCREENING_RATE, YEARS)) // ROUND_TO * ROUND_TO
    loan = max(0, min(loan, MAX_LOAN))
    payment = _yen(loan / _annuity_factor(CONTRACT_RATE, YEARS), ROUND_HALF_UP) if loan else 0
    size = len(members) if members is not None else None
    return Affordability(total, size, dependants, ratio, monthly, loan, payment)
