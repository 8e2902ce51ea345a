"""Late-payment interest and the fixed recovery indemnity (French law). Pure: no ORM, no I/O
besides the shipped rate tables (read once).

- Businesses (Code de commerce L441-10 II): unless the contract says otherwise, the ECB main
  refinancing rate + 10 points; the rate of the first semester is the one in force on 1 January,
  of the second on 1 July. A contract rate cannot be below three times the legal interest rate.
  Due from the day after the due date, without any reminder. Plus 40 EUR per invoice (D441-5).
- Public bodies (Code de la commande publique L2192-13, R2192-31 to R2192-36, D2192-35): the ECB rate in force on the
  first day of the semester in which interest starts to run, + 8 points, for the whole period;
  plus 40 EUR per invoice.
- Consumers (Code civil 1231-6, Code monétaire et financier L313-2): the legal interest rate
  of each semester, running only from the formal notice; no fixed indemnity. The creditor is a
  company, so the "autres cas" rate applies; the consumer-creditor rate is there on request.

Interest is simple, per day over 365, summed over the periods then rounded half-up to the cent.
Each period also states its own share, rounded to the cent, the last one taking the rounding
difference: a letter printing the periods adds up to the total it states.

Past the end of a rate table the last known rate is carried forward and flagged as estimated:
`missing_rates()` names those periods, so that a formal notice can be held (and never print an
estimated rate as fact).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from relance.law.rates import RateTable, default_rate_table, semester_start
from relance.lib.money import ZERO, cents

BUSINESS, CONSUMER, PUBLIC = "business", "consumer", "public"
KINDS = (BUSINESS, CONSUMER, PUBLIC)
B2B_MARGIN = Decimal("10")  # points over the ECB rate, L441-10 II
PUBLIC_MARGIN = Decimal("8")  # points over the ECB rate, R2192-31
CONTRACT_FLOOR_MULTIPLE = Decimal("3")  # L441-10 II: at least three times the legal rate
INDEMNITY_PER_INVOICE = Decimal("40.00")  # D441-5 (businesses), D2192-35 (public procurement)
DAYS_PER_YEAR = Decimal("365")

BASIS = {
    BUSINESS: "art. L441-10 du Code de commerce : taux BCE + 10 points",
    PUBLIC: "art. L2192-13 et R2192-31 à R2192-36 du Code de la commande publique : taux BCE + 8 points",
    CONSUMER: "art. 1231-6 du Code civil : intérêt au taux légal à compter de la mise en demeure",
}


@dataclass(frozen=True)
class Period:
    start: date  # first day of interest in the period
    end: date  # last day, included
    days: int
    rate: Decimal  # percent per year
    estimated: bool  # the rate table did not cover this period: last known rate carried forward
    amount: Decimal = Decimal("0.00")  # the interest of this period, rounded to the cent


@dataclass(frozen=True)
class LateInterest:
    amount: Decimal
    days: int
    periods: tuple[Period, ...]
    basis: str
    estimated: bool

    @property
    def rate(self) -> Decimal | None:
        """The rate when a single one applies over the whole period (for the letter's wording)."""
        rates = {p.rate for p in self.periods}
        return rates.pop() if len(rates) == 1 else None


def _check(amount: Decimal, customer_kind: str) -> None:
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, got {type(amount).__name__}")
    if customer_kind not in KINDS:
        raise ValueError(f"customer_kind must be one of {', '.join(KINDS)}, got {customer_kind!r}")


def _segments(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] cut at each 1 January and 1 July."""
    out = []
    start = first
    while start <= last:
        nxt = date(start.year, 7, 1) if start.month <= 6 else date(start.year + 1, 1, 1)
        end = min(last, nxt - timedelta(days=1))
        out.append((start, end))
        start = nxt
    return out


def _rate(kind: str, start: date, first: date, table: RateTable, contract_rate: Decimal | None,
          consumer_creditor: bool) -> tuple[Decimal, bool]:
    if kind == CONSUMER:
        legal = table.legal_rate_on(start)
        rate = legal.consumer_creditor if consumer_creditor else legal.other_cases
        return rate, not table.legal_known(start)
    if kind == PUBLIC:
        # Fixed for the whole delay: the semester in which interest started to run.
        sem = semester_start(first)
        return table.ecb_rate_on(sem) + PUBLIC_MARGIN, not table.ecb_known(sem)
    sem = semester_start(start)
    if contract_rate is not None:
        floor = CONTRACT_FLOOR_MULTIPLE * table.legal_rate_on(start).other_cases
        return max(contract_rate, floor), not table.legal_known(start)
    return table.ecb_rate_on(sem) + B2B_MARGIN, not table.ecb_known(sem)


def late_interest_detail(
    amount: Decimal,
    due_date: date,
    on_date: date,
    customer_kind: str,
    rate_table: RateTable | None = None,
    *,
    notice_date: date | None = None,
    contract_rate: Decimal | None = None,
    consumer_creditor: bool = False,
) -> LateInterest:
    """Interest owed on `amount` on `on_date`, with its periods and rates (see the module docstring).

    For consumers interest runs from `notice_date` (the formal notice); none without one.
    `contract_rate` (percent) replaces the ECB rate + 10 for businesses, floored at 3x the legal rate.
    """
    _check(amount, customer_kind)
    table = rate_table or default_rate_table()
    anchor = notice_date if customer_kind == CONSUMER else due_date
    basis = BASIS[customer_kind]
    if customer_kind == BUSINESS and contract_rate is not None:
        basis = "taux contractuel (CGV), au moins trois fois le taux d'intérêt légal (art. L441-10)"
    if anchor is None or amount <= 0 or on_date <= anchor:
        return LateInterest(ZERO, 0, (), basis, False)
    first = anchor + timedelta(days=1)
    periods = []
    total = Decimal(0)
    for start, end in _segments(first, on_date):
        rate, estimated = _rate(customer_kind, start, first, table, contract_rate, consumer_creditor)
        days = (end - start).days + 1
        exact = amount * rate / 100 * days / DAYS_PER_YEAR
        periods.append(Period(start, end, days, rate, estimated, cents(exact)))
        total += exact
    total = cents(total)
    last = periods[-1]
    periods[-1] = replace(last, amount=total - sum((p.amount for p in periods[:-1]), ZERO))
    return LateInterest(total, (on_date - anchor).days, tuple(periods), basis, any(p.estimated for p in periods))


def late_interest(
    amount: Decimal,
    due_date: date,
    on_date: date,
    customer_kind: str,
    rate_table: RateTable | None = None,
    **options,
) -> Decimal:
    """Late-payment interest on `amount` due on `due_date`, computed on `on_date`, rounded to the cent.

    Options: notice_date (consumers), contract_rate, consumer_creditor (see late_interest_detail).
    """
    return late_interest_detail(amount, due_date, on_date, customer_kind, rate_table, **options).amount


def late_interest_total(
    items: list[tuple[Decimal, date]],
    on_date: date,
    customer_kind: str,
    rate_table: RateTable | None = None,
    **options,
) -> Decimal:
    """The sum over (balance, due_date) pairs, each invoice rounded to the cent on its own."""
    return sum(
        (late_interest(amount, due, on_date, customer_kind, rate_table, **options) for amount, due in items),
        ZERO,
    )


def penalty_rate(on_date: date, customer_kind: str, rate_table: RateTable | None = None) -> Decimal:
    """The yearly rate (percent) that applies on `on_date` absent a contract rate, for the letters."""
    if customer_kind not in KINDS:
        raise ValueError(f"customer_kind must be one of {', '.join(KINDS)}, got {customer_kind!r}")
    table = rate_table or default_rate_table()
    if customer_kind == CONSUMER:
        return table.legal_rate_on(on_date).other_cases
    margin = PUBLIC_MARGIN if customer_kind == PUBLIC else B2B_MARGIN
    return table.ecb_rate_on(semester_start(on_date)) + margin


def fixed_indemnity(customer_kind: str, invoice_count: int) -> Decimal:
    """40 EUR per late invoice for businesses and public bodies (D441-5, D2192-35); 0 for consumers."""
    if customer_kind not in KINDS:
        raise ValueError(f"customer_kind must be one of {', '.join(KINDS)}, got {customer_kind!r}")
    if not isinstance(invoice_count, int) or invoice_count < 0:
        raise ValueError(f"invoice_count must be a whole number >= 0, got {invoice_count!r}")
    if customer_kind == CONSUMER:
        return ZERO
    return cents(INDEMNITY_PER_INVOICE * invoice_count)


def missing_rates(
    start: date,
    end: date,
    customer_kind: str = BUSINESS,
    rate_table: RateTable | None = None,
    **options,
) -> list[str]:
    """The periods of interest between a due date `start` and `end` whose rate is not in the tables.

    Each is "YYYY-MM-DD/YYYY-MM-DD" (first and last day, ISO 8601 interval); [] when every rate is
    known. A formal notice with any such period states an estimate: hold it for approval.
    Options as for late_interest_detail (notice_date for consumers, contract_rate).
    """
    detail = late_interest_detail(Decimal("100.00"), start, end, customer_kind, rate_table, **options)
    return [f"{p.start.isoformat()}/{p.end.isoformat()}" for p in detail.periods if p.estimated]
