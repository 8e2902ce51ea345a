"""Worked examples of the late-payment law (L441-10, R2192-31, 1231-6), computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.law.late_payment import (
    fixed_indemnity,
    late_interest,
    late_interest_detail,
    late_interest_total,
    missing_rates,
    penalty_rate,
)
from relance.law.rates import RateTableError, default_rate_table, parse_rate_table

D = Decimal


def test_it_charges_ecb_rate_plus_ten_points_per_day_over_365_for_a_business():
    # 1 000 € due 31/01/2025, 30 days late on 02/03/2025; ECB on 1/1/2025 = 3.15 %, so 13.15 %.
    # 1000 x 13.15 % x 30 / 365 = 10.8082 -> 10.81
    assert late_interest(D("1000.00"), date(2025, 1, 31), date(2025, 3, 2), "business") == D("10.81")


def test_it_switches_rate_on_the_first_of_july():
    # 10 000 € due 15/06/2025: 15 days of June at 13.15 %, 15 days of July at 12.15 % (ECB 2.15 % on 1/7).
    # 54.0411 + 49.9315 = 103.9726 -> 103.97
    detail = late_interest_detail(D("10000.00"), date(2025, 6, 15), date(2025, 7, 15), "business")
    assert [(p.days, p.rate) for p in detail.periods] == [(15, D("13.15")), (15, D("12.15"))]
    assert detail.days == 30
    assert detail.amount == D("103.97")
    assert detail.rate is None
    assert not detail.estimated


def test_it_uses_the_rate_of_january_first_even_when_the_ecb_changed_it_during_the_semester():
    # The ECB cut to 2.90 % on 05/02/2025, but L441-10 keeps the 1 January rate for the semester.
    detail = late_interest_detail(D("1000.00"), date(2025, 3, 31), date(2025, 4, 30), "business")
    assert detail.rate == D("13.15")


def test_it_charges_nothing_before_the_day_after_the_due_date():
    assert late_interest(D("1000.00"), date(2025, 3, 31), date(2025, 3, 31), "business") == D("0.00")
    assert late_interest(D("1000.00"), date(2025, 3, 31), date(2025, 3, 1), "business") == D("0.00")
    # One day late: 1000 x 13.15 % / 365 = 0.3603 -> 0.36
    assert late_interest(D("1000.00"), date(2025, 3, 31), date(2025, 4, 1), "business") == D("0.36")


def test_it_charges_nothing_on_a_settled_balance():
    assert late_interest(D("0.00"), date(2025, 1, 31), date(2025, 3, 2), "business") == D("0.00")
    assert late_interest(D("-50.00"), date(2025, 1, 31), date(2025, 3, 2), "business") == D("0.00")


def test_it_charges_a_public_body_ecb_plus_eight_fixed_on_the_semester_interest_started():
    # 2 000 € due 20/06/2025, on 19/08/2025: 60 days, all at 3.15 + 8 = 11.15 % (semester of 21/06).
    # 2000 x 11.15 % x 60 / 365 = 36.6575 -> 36.66
    detail = late_interest_detail(D("2000.00"), date(2025, 6, 20), date(2025, 8, 19), "public")
    assert detail.amount == D("36.66")
    assert detail.rate == D("11.15")


def test_it_charges_a_consumer_the_legal_rate_only_from_the_formal_notice():
    # 1 500 € due 30/06/2025, formal notice 01/09/2025, on 01/10/2025: 30 days at 2.76 % (autres cas).
    # 1500 x 2.76 % x 30 / 365 = 3.4027 -> 3.40
    assert late_interest(D("1500.00"), date(2025, 6, 30), date(2025, 10, 1), "consumer",
                         notice_date=date(2025, 9, 1)) == D("3.40")
    assert late_interest(D("1500.00"), date(2025, 6, 30), date(2025, 10, 1), "consumer") == D("0.00")


def test_it_can_use_the_consumer_creditor_legal_rate_when_asked():
    # Same case at 6.65 %: 1500 x 6.65 % x 30 / 365 = 8.1986 -> 8.20
    assert late_interest(D("1500.00"), date(2025, 6, 30), date(2025, 10, 1), "consumer",
                         notice_date=date(2025, 9, 1), consumer_creditor=True) == D("8.20")


def test_it_applies_a_contract_rate_but_never_below_three_times_the_legal_rate():
    # Contract 15 %: 1000 x 15 % x 73 / 365 = 30.00
    assert late_interest(D("1000.00"), date(2025, 7, 31), date(2025, 10, 12), "business",
                         contract_rate=D("15")) == D("30.00")
    # Contract 3 % is under the floor 3 x 2.76 = 8.28 % : 1000 x 8.28 % x 73 / 365 = 16.56
    detail = late_interest_detail(D("1000.00"), date(2025, 7, 31), date(2025, 10, 12), "business",
                                  contract_rate=D("3"))
    assert detail.rate == D("8.28")
    assert detail.amount == D("16.56")


def _flat_table(ecb_rate: str, checked: str = "2030-01-01"):
    ecb = f"# checked_until: {checked}\neffective_date,rate,source\n2000-01-01,{ecb_rate},test\n"
    legal = f"# checked_until: {checked}\nsemester_start,consumer_creditor,other_cases,source\n2000-01-01,4,1,test\n"
    return parse_rate_table(ecb, legal)


def test_it_rounds_half_up_to_the_cent():
    # Flat 10 % for a year on 0.05 € = 0.005 exactly: half-up gives 0.01 (banker's rounding would give 0.00).
    table = _flat_table("0")
    assert late_interest(D("0.05"), date(2026, 12, 31), date(2027, 12, 31), "business", table) == D("0.01")


def test_it_counts_a_leap_year_day_over_365():
    # 365 % ... flat 10 %: 366 days in 2028 on 365.00 € = 365 x 10 % x 366/365 = 36.60
    table = _flat_table("0")
    assert late_interest(D("365.00"), date(2027, 12, 31), date(2028, 12, 31), "business", table) == D("36.60")


def test_it_carries_the_last_known_rate_forward_and_says_so():
    detail = late_interest_detail(D("1000.00"), date(2026, 6, 30), date(2026, 7, 30), "business")
    assert detail.rate == D("12.15")
    assert detail.estimated
    assert not late_interest_detail(D("1000.00"), date(2026, 1, 31), date(2026, 3, 2), "business").estimated


def test_it_sums_invoices_each_rounded_on_its_own():
    items = [(D("1000.00"), date(2025, 1, 31)), (D("10000.00"), date(2025, 6, 15))]
    assert late_interest_total(items, date(2025, 7, 15), "business") == (
        late_interest(D("1000.00"), date(2025, 1, 31), date(2025, 7, 15), "business") + D("103.97")
    )


def test_it_gives_the_penalty_rate_for_the_letters():
    assert penalty_rate(date(2026, 3, 1), "business") == D("12.15")
    assert penalty_rate(date(2024, 3, 1), "business") == D("14.50")
    assert penalty_rate(date(2024, 9, 1), "public") == D("12.25")
    assert penalty_rate(date(2026, 3, 1), "consumer") == D("2.62")


def test_it_refuses_floats_and_unknown_kinds():
    with pytest.raises(TypeError):
        late_interest(1000.0, date(2025, 1, 31), date(2025, 3, 2), "business")
    with pytest.raises(ValueError, match="customer_kind"):
        late_interest(D("1"), date(2025, 1, 31), date(2025, 3, 2), "company")


def test_it_owes_forty_euros_per_invoice_to_businesses_and_public_bodies_not_consumers():
    assert fixed_indemnity("business", 3) == D("120.00")
    assert fixed_indemnity("public", 1) == D("40.00")
    assert fixed_indemnity("consumer", 3) == D("0.00")
    assert fixed_indemnity("business", 0) == D("0.00")
    with pytest.raises(ValueError):
        fixed_indemnity("business", -1)


def test_the_shipped_tables_cover_the_first_semester_of_2026_with_sources():
    table = default_rate_table()
    assert table.ecb_checked_until >= date(2026, 1, 1)
    assert table.legal_checked_until >= date(2026, 1, 1)
    assert table.legal_rate_on(date(2026, 5, 1)).other_cases == D("2.62")
    assert all(source for _, _, source in table.ecb)
    assert all(row.source for row in table.legal)


def test_a_malformed_rate_file_is_refused_with_its_file_line_and_field():
    ecb = "# checked_until: 2026-01-01\neffective_date,rate,source\n2025-01-01,2.5,x\n2025-02-01,abc,x\n"
    legal = "# checked_until: 2026-01-01\nsemester_start,consumer_creditor,other_cases,source\n2025-01-01,4,1,x\n"
    with pytest.raises(RateTableError, match=r"ecb_rates.csv, line 4, field rate"):
        parse_rate_table(ecb, legal)
    bad_semester = legal.replace("2025-01-01,4", "2025-02-01,4")
    with pytest.raises(RateTableError, match=r"taux_legal.csv, line 3, field semester_start"):
        parse_rate_table(ecb.replace("abc", "3"), bad_semester)


@given(
    cents_amount=st.integers(min_value=0, max_value=10**11),
    due=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 1, 1)),
    late=st.integers(min_value=-30, max_value=2000),
    kind=st.sampled_from(["business", "public", "consumer"]),
)
def test_interest_is_never_negative_and_grows_with_the_delay(cents_amount, due, late, kind):
    from datetime import timedelta

    amount = D(cents_amount) / 100
    on = due + timedelta(days=late)
    value = late_interest(amount, due, on, kind, notice_date=due)
    assert value >= 0
    assert value == value.quantize(D("0.01"))
    assert late_interest(amount, due, on + timedelta(days=30), kind, notice_date=due) >= value


def test_each_period_states_its_own_interest_and_they_add_up_to_the_total():
    detail = late_interest_detail(D("10000.00"), date(2025, 6, 15), date(2025, 7, 15), "business")
    assert [p.amount for p in detail.periods] == [D("54.04"), D("49.93")]
    assert sum(p.amount for p in detail.periods) == detail.amount


def test_it_names_the_periods_whose_rate_is_missing_from_the_tables():
    # The shipped ECB table is checked until 1 January 2026: the second semester of 2026 is an estimate.
    assert missing_rates(date(2026, 6, 30), date(2026, 7, 30)) == ["2026-07-01/2026-07-30"]
    assert missing_rates(date(2026, 1, 31), date(2026, 3, 2)) == []
    assert missing_rates(date(2026, 1, 31), date(2026, 3, 2), "consumer") == []  # no notice, no interest
    assert missing_rates(date(2026, 5, 31), date(2026, 9, 1), "consumer", notice_date=date(2026, 6, 15)) == [
        "2026-07-01/2026-09-01"]


def test_the_last_period_takes_the_rounding_difference():
    # Two half-years of 0.0025 € each: 0.00 + 0.00 printed would not add up to the 0.01 owed.
    detail = late_interest_detail(D("0.05"), date(2026, 12, 31), date(2027, 12, 31), "business", _flat_table("0"))
    assert [p.amount for p in detail.periods] == [D("0.00"), D("0.01")]
