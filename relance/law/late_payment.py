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

Interest runs on the open balance of each day: a payment, a credit note or an allocation dated D
still leaves D under interest (interest runs up to and including the day of payment) and lowers
the base from D + 1. Periods are cut at each half-year and at each change of the base.

Interest is simple, per day over 365, summed over the periods then rounded half-up to the cent.
A leap year is divided by 365 too: the texts (L441-10, R2192-31, L313-2) state yearly rates and
the Banque de France's and the courts' practice is the exact number of days over 365 (the
"année civile" convention of art. 1231-6 C. civ. computations); 366 would lower the claim by
about 0.3 % in 2028 for no legal reason. One choice, here.
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

CONTRACT_BASIS = "taux prévu par nos conditions générales de vente : {terms} (art. L441-10 du Code de commerce)"
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
    base: Decimal = Decimal("0.00")  # the open balance interest runs on during the period


@dataclass(frozen=True)
class Reduction:
    """What lowered the open balance (payment, credit note, allocation) and its date."""

    day: date
    amount: Decimal


@dataclass(frozen=True)
class ContractRate:
    """The rate of the terms of sale: a yearly percent, or a multiple of the legal interest rate.

    Exactly one of `percent` and `legal_multiple` is set. L441-10 II floors it at three times the
    legal rate (the semester's "other cases" rate: the creditor is a business)."""

    percent: Decimal | None = None
    legal_multiple: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.legal_multiple is None):
            raise ValueError("a contract rate is either a percent or a multiple of the legal rate")
        value = self.percent if self.percent is not None else self.legal_multiple
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise ValueError(f"contract rate must be a Decimal >= 0, got {value!r}")

    def rate_on(self, day: date, table: RateTable) -> Decimal:
        """The contract rate for `day`, never below 3x the legal rate of its semester."""
        legal = table.legal_rate_on(day).other_cases
        rate = self.percent if self.percent is not None else self.legal_multiple * legal
        return max(rate, CONTRACT_FLOOR_MULTIPLE * legal)

    def terms(self) -> str:
        """How the terms of sale put it, in French ("12,00 %", "3 fois le taux d'intérêt légal")."""
        if self.percent is not None:
            return f"{self.percent:.2f} %".replace(".", ",")
        multiple = format(self.legal_multiple.normalize(), "f").replace(".", ",")
        return f"{multiple} fois le taux d'intérêt légal"


CONTRACT_MODES = ("percent", "legal_multiple")


def contract_terms_problem(mode: str, value: Decimal | None) -> str | None:
    """Why a (mode, value) pair of terms of sale cannot be a contract rate, None when it can ("" = the law's)."""
    if not mode:
        return None if value is None else "une valeur de taux sans type de taux (% ou multiple du taux légal)"
    if mode not in CONTRACT_MODES:
        return f"type de taux inconnu {mode!r} ; attendu : {', '.join(CONTRACT_MODES)}"
    if value is None:
        return "valeur du taux manquante"
    if not Decimal(0) < value <= Decimal(100):
        return f"valeur du taux hors limites (entre 0 et 100) : {value}"
    return None


def as_contract_rate(value: Decimal | ContractRate | None) -> ContractRate | None:
    """A bare Decimal is a percent (the older callers' form)."""
    if value is None or isinstance(value, ContractRate):
        return value
    return ContractRate(percent=value)


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


def _rate(kind: str, start: date, first: date, table: RateTable, contract_rate: ContractRate | None,
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
        return contract_rate.rate_on(start, table), not table.legal_known(start)
    return table.ecb_rate_on(sem) + B2B_MARGIN, not table.ecb_known(sem)


def basis_for(customer_kind: str, contract_rate: Decimal | ContractRate | None = None) -> str:
    """The legal basis a letter cites: the terms of sale's rate when a business has one, else the law's."""
    contract = as_contract_rate(contract_rate)
    if customer_kind == BUSINESS and contract is not None:
        return CONTRACT_BASIS.format(terms=contract.terms())
    return BASIS[customer_kind]


def _check_reductions(reductions) -> list[Reduction]:
    out = []
    for r in reductions:
        if not isinstance(r, Reduction):
            r = Reduction(*r)
        if not isinstance(r.amount, Decimal) or not isinstance(r.day, date):
            raise TypeError(f"a reduction is (date, Decimal), got {r!r}")
        out.append(r)
    return sorted(out, key=lambda r: r.day)


def _cuts(first: date, last: date, reductions: list[Reduction]) -> list[tuple[date, date]]:
    """[first, last] cut at each half-year and on the day after each reduction."""
    starts = {s for s, _ in _segments(first, last)}
    starts |= {r.day + timedelta(days=1) for r in reductions if first < r.day + timedelta(days=1) <= last}
    ordered = sorted(starts)
    return [(s, (ordered[i + 1] - timedelta(days=1)) if i + 1 < len(ordered) else last)
            for i, s in enumerate(ordered)]


def late_interest_on_balance(
    total: Decimal,
    due_date: date,
    on_date: date,
    customer_kind: str,
    reductions=(),
    rate_table: RateTable | None = None,
    *,
    notice_date: date | None = None,
    contract_rate: Decimal | ContractRate | None = None,
    consumer_creditor: bool = False,
) -> LateInterest:
    """Interest on the open balance of each day of an invoice of `total` due on `due_date`, on `on_date`.

    `reductions`: Reduction(day, amount) (or (day, amount) pairs): payments, credit notes, allocations;
    each lowers the base from the day after its date. Periods split at each half-year and each change
    of base. For consumers interest runs from `notice_date` (the formal notice); none without one.
    `contract_rate` (ContractRate, or a Decimal percent) replaces the ECB rate + 10 for businesses,
    floored at 3x the legal rate.
    """
    _check(total, customer_kind)
    cuts = _check_reductions(reductions)
    table = rate_table or default_rate_table()
    contract = as_contract_rate(contract_rate) if customer_kind == BUSINESS else None
    anchor = notice_date if customer_kind == CONSUMER else due_date
    basis = basis_for(customer_kind, contract)
    if anchor is None or on_date <= anchor:
        return LateInterest(ZERO, 0, (), basis, False)
    first = anchor + timedelta(days=1)
    periods = []
    exact_total = Decimal(0)
    for start, end in _cuts(first, on_date, cuts):
        base = total - sum((r.amount for r in cuts if r.day < start), ZERO)
        if base <= 0:
            continue
        rate, estimated = _rate(customer_kind, start, first, table, contract, consumer_creditor)
        days = (end - start).days + 1
        exact = base * rate / 100 * days / DAYS_PER_YEAR
        periods.append(Period(start, end, days, rate, estimated, cents(exact), base))
        exact_total += exact
    if not periods:
        return LateInterest(ZERO, 0, (), basis, False)
    amount = cents(exact_total)
    last = periods[-1]
    periods[-1] = replace(last, amount=amount - sum((p.amount for p in periods[:-1]), ZERO))
    return LateInterest(amount, sum(p.days for p in periods), tuple(periods), basis,
                        any(p.estimated for p in periods))


def late_interest_detail(
    amount: Decimal,
    due_date: date,
    on_date: date,
    customer_kind: str,
    rate_table: RateTable | None = None,
    *,
    notice_date: date | None = None,
    contract_rate: Decimal | ContractRate | None = None,
    consumer_creditor: bool = False,
) -> LateInterest:
    """Interest owed on a whole, unchanged `amount` on `on_date`: late_interest_on_balance without reductions."""
    return late_interest_on_balance(amount, due_date, on_date, customer_kind, (), rate_table,
                                    notice_date=notice_date, contract_rate=contract_rate,
                                    consumer_creditor=consumer_creditor)


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


def penalty_rate(on_date: date, customer_kind: str, rate_table: RateTable | None = None,
                 contract_rate: Decimal | ContractRate | None = None) -> Decimal:
    """The yearly rate (percent) that applies on `on_date` (the contract's for a business that has one)."""
    if customer_kind not in KINDS:
        raise ValueError(f"customer_kind must be one of {', '.join(KINDS)}, got {customer_kind!r}")
    table = rate_table or default_rate_table()
    contract = as_contract_rate(contract_rate)
    if customer_kind == BUSINESS and contract is not None:
        return contract.rate_on(on_date, table)
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
