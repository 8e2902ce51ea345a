"""Risk scoring, pure."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from relance.dunning.scoring import History, OpenInvoice, PaidInvoice, score, segment_for

TODAY = date(2026, 7, 1)


def paid(days_late: int, amount: str = "1000", ago: int = 30) -> PaidInvoice:
    paid_on = TODAY - timedelta(days=ago)
    return PaidInvoice(paid_on - timedelta(days=days_late), paid_on, Decimal(amount))


def test_a_customer_who_pays_on_time_is_low_risk_and_told_so():
    risk = score(History(paid=tuple(paid(0) for _ in range(10))), TODAY)
    assert risk.score == 0 and risk.segment == "low"
    assert risk.reasons == ("paie à l'échéance",)


def test_an_unknown_customer_with_old_debts_scores_above_the_unknown_baseline():
    risk = score(History(open=(OpenInvoice(TODAY - timedelta(days=90), Decimal("500")),)), TODAY)
    assert risk.score == 50 and risk.reasons[-1] == "pas encore d'historique de paiement"


def test_a_customer_without_history_is_medium():
    risk = score(History(), TODAY)
    assert risk.segment == "medium" and risk.reasons == ("pas encore d'historique de paiement",)


def test_a_chronic_late_payer_is_high_risk_with_the_reasons_in_words():
    history = History(
        paid=tuple(paid(60) for _ in range(6)),
        open=(OpenInvoice(TODAY - timedelta(days=75), Decimal("2500")),),
        broken_promises=2,
    )
    risk = score(history, TODAY)
    assert risk.segment == "high" and risk.score >= 80
    assert "paie en moyenne 60 jours après l'échéance" in risk.reasons
    assert "2 promesse(s) de paiement non tenue(s)" in risk.reasons
    assert "2\u202f500,00 € échus impayés, le plus ancien depuis 75 jours" in risk.reasons


def test_days_late_are_weighted_by_amount():
    big_on_time = History(paid=(paid(0, "10000"), paid(40, "100")))
    small_on_time = History(paid=(paid(0, "100"), paid(40, "10000")))
    assert score(big_on_time, TODAY).score < score(small_on_time, TODAY).score


def test_recent_delays_weigh_more_than_old_ones():
    old = History(paid=(paid(30, ago=300), paid(0, ago=10)))
    recent = History(paid=(paid(0, ago=300), paid(30, ago=10)))
    assert score(recent, TODAY).score > score(old, TODAY).score


def test_disputes_and_broken_promises_raise_the_score():
    base = History(paid=(paid(5),))
    assert score(History(paid=base.paid, disputes=2), TODAY).score > score(base, TODAY).score
    assert score(History(paid=base.paid, broken_promises=1), TODAY).score > score(base, TODAY).score


def test_reasons_are_available_in_english():
    risk = score(History(paid=(paid(50),)), TODAY, language="en")
    assert "pays 50 days after the due date on average" in risk.reasons


def test_segments_follow_the_thresholds():
    assert [segment_for(s) for s in (0, 29, 30, 59, 60, 100)] == ["low", "low", "medium", "medium", "high", "high"]


@given(
    st.lists(st.tuples(st.integers(-30, 400), st.integers(1, 10**7), st.integers(0, 700)), max_size=30),
    st.lists(st.tuples(st.integers(-100, 400), st.integers(-1000, 10**7)), max_size=10),
    st.integers(0, 10),
    st.integers(0, 10),
)
def test_the_score_is_always_between_0_and_100_with_a_segment(paids, opens, disputes, broken):
    history = History(
        paid=tuple(paid(late, str(amount / 100), ago) for late, amount, ago in paids),
        open=tuple(OpenInvoice(TODAY - timedelta(days=age), Decimal(bal) / 100) for age, bal in opens),
        disputes=disputes,
        broken_promises=broken,
    )
    risk = score(history, TODAY)
    assert 0 <= risk.score <= 100
    assert risk.segment == segment_for(risk.score)
    assert risk.reasons
