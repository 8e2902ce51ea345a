"""Risk scoring, pure: a customer's payment history -> a score 0-100, a segment and the reasons in words.

Each factor adds points up to its weight; the reasons list the factors that weigh, heaviest first.
The weights are data so that they can be read, discussed and tuned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from django.utils.translation import gettext, gettext_noop, override

from relance.dunning.numbers import format_amount

# Factor -> points at most. A customer maxing every factor is clipped to 100.
WEIGHTS = {
    "avg_late": 25,  # average days late, weighted by amount, over the history
    "recent_late": 15,  # the same over the last 90 days: a customer getting worse
    "share_late": 15,  # share of invoices paid late
    "longest": 10,  # the longest delay
    "overdue": 15,  # what is overdue now, and since when
    "disputes": 10,  # disputes opened
    "broken_promises": 20,  # promises not kept
}
# Days late (or overdue) at which a factor reaches its full weight.
FULL_AT_DAYS = {"avg_late": 45, "recent_late": 45, "longest": 90, "overdue": 60}
# Paying within this many days after the due date is not "late" (bank transfer delays).
TOLERANCE_DAYS = 3
RECENT_DAYS = 90
SEGMENTS = ((30, "low"), (60, "medium"), (101, "high"))
# With no history at all the customer is neither trusted nor suspected.
UNKNOWN_SCORE = 35

# The reasons shown with a score, translated by gettext (relance/locale), amounts formatted by Babel.
_TEXT = {
    "avg_late": gettext_noop("pays {n} days after the due date on average"),
    "recent_late": gettext_noop("{n} days late on average over the last 3 months"),
    "share_late": gettext_noop("{n}% of invoices paid late"),
    "longest": gettext_noop("longest delay: {n} days"),
    "overdue": gettext_noop("€{amount} overdue, the oldest for {n} days"),
    "disputes": gettext_noop("{n} dispute(s) opened"),
    "broken_promises": gettext_noop("{n} broken promise(s) to pay"),
    "on_time": gettext_noop("pays on time"),
    "no_history": gettext_noop("no payment history yet"),
}


@lru_cache(maxsize=8)
def _texts(language: str) -> dict[str, str]:
    # Once per language: score() runs for every customer of a large run.
    with override(language):
        return {key: gettext(text) for key, text in _TEXT.items()}


@dataclass(frozen=True, slots=True)
class PaidInvoice:
    due_date: date
    paid_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    due_date: date
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Overdue:
    """What is overdue now: the amount, its average age weighted by amount, the oldest age (days)."""

    amount: Decimal
    avg_days: float
    oldest_days: int


@dataclass(frozen=True, slots=True)
class History:
    paid: tuple[PaidInvoice, ...] = ()
    open: tuple[OpenInvoice, ...] = ()
    disputes: int = 0
    broken_promises: int = 0
    # Given directly when the database summed it (a large run); else computed from `open`.
    overdue: Overdue | None = None


def summarise_overdue(open_invoices: tuple[OpenInvoice, ...], today: date) -> Overdue | None:
    overdue = [o for o in open_invoices if o.due_date < today and o.balance > 0]
    if not overdue:
        return None
    amount = sum((o.balance for o in overdue), Decimal("0"))
    days = sum((today - o.due_date).days * o.balance for o in overdue) / amount
    return Overdue(amount, float(days), max((today - o.due_date).days for o in overdue))


@dataclass(frozen=True, slots=True)
class Risk:
    score: int
    segment: str
    reasons: tuple[str, ...]


def segment_for(score: int) -> str:
    for upper, name in SEGMENTS:
        if score < upper:
            return name
    return "high"


def _weighted_days_late(paid: tuple[PaidInvoice, ...]) -> float:
    total = sum(p.amount for p in paid)
    if total <= 0:
        return 0.0
    return float(sum(max((p.paid_date - p.due_date).days, 0) * p.amount for p in paid) / total)


def _share(value: float, full: float) -> float:
    return max(0.0, min(value / full, 1.0))


def score(history: History, today: date, language: str = "fr") -> Risk:
    """Score a customer's history as of `today` (0 = pays on time, 100 = does not pay)."""
    language = language if language in ("fr", "en") else "fr"
    text = _texts(language)
    overdue = history.overdue if history.overdue is not None else summarise_overdue(history.open, today)
    if overdue is not None and overdue.amount <= 0:
        overdue = None
    if not history.paid and not overdue and not history.disputes and not history.broken_promises:
        return Risk(UNKNOWN_SCORE, segment_for(UNKNOWN_SCORE), (text["no_history"],))
    points: dict[str, float] = {}
    facts: dict[str, dict] = {}
    paid = history.paid
    if paid:
        avg = _weighted_days_late(paid)
        points["avg_late"] = WEIGHTS["avg_late"] * _share(avg, FULL_AT_DAYS["avg_late"])
        facts["avg_late"] = {"n": round(avg)}
        recent = tuple(p for p in paid if p.paid_date >= today - timedelta(days=RECENT_DAYS))
        if recent:
            rec = _weighted_days_late(recent)
            points["recent_late"] = WEIGHTS["recent_late"] * _share(rec, FULL_AT_DAYS["recent_late"])
            facts["recent_late"] = {"n": round(rec)}
        late = sum(1 for p in paid if (p.paid_date - p.due_date).days > TOLERANCE_DAYS)
        points["share_late"] = WEIGHTS["share_late"] * late / len(paid)
        facts["share_late"] = {"n": round(100 * late / len(paid))}
        longest = max((p.paid_date - p.due_date).days for p in paid)
        points["longest"] = WEIGHTS["longest"] * _share(longest, FULL_AT_DAYS["longest"])
        facts["longest"] = {"n": longest}
    if overdue is not None:
        points["overdue"] = WEIGHTS["overdue"] * _share(overdue.avg_days, FULL_AT_DAYS["overdue"])
        facts["overdue"] = {"n": overdue.oldest_days, "amount": format_amount(overdue.amount, language)}
    if history.disputes:
        points["disputes"] = min(WEIGHTS["disputes"], 5 * history.disputes)
        facts["disputes"] = {"n": history.disputes}
    if history.broken_promises:
        points["broken_promises"] = min(WEIGHTS["broken_promises"], 10 * history.broken_promises)
        facts["broken_promises"] = {"n": history.broken_promises}
    # Without a payment history the customer starts from the "unknown" score, not from "pays on time".
    base = 0 if paid else UNKNOWN_SCORE
    total = max(0, min(100, round(base + sum(points.values()))))
    # A factor is worth mentioning when it adds at least 2 points.
    weighing = sorted((k for k, v in points.items() if v >= 2), key=lambda k: -points[k])
    reasons = tuple(text[k].format(**facts[k]) for k in weighing)
    if not reasons and paid:
        reasons = (text["on_time"],)
    if not paid:
        reasons += (text["no_history"],)
    return Risk(total, segment_for(total), reasons)
