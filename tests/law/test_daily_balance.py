"""Interest on the open balance of each day (pure): hand-checked cases, the arithmetic in comments.

Rates used (relance/law/data): ECB in force on 2024-01-01 4.50, on 2025-01-01 3.15, on 2025-07-01 2.15;
legal rate "other cases" 2025-H2 2.76. Business = ECB + 10, public body = ECB + 8 fixed at the
semester interest starts in. Each period is base x rate / 100 x days / 365, the total rounded once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from relance.law.late_payment import (
    CONTRACT_BASIS,
    ContractRate,
    Reduction,
    basis_for,
    late_interest,
    late_interest_detail,
    late_interest_on_balance,
    penalty_rate,
)


def rows(detail):
    return [(p.start, p.end, p.days, p.base, p.rate, p.amount) for p in detail.periods]


def test_a_partial_payment_lowers_the_base_from_the_day_after_it():
    # 1000.00 due 2025-01-31, 400.00 paid on 2025-02-15, computed on 2025-03-02, business 13.15 %:
    #   01/02-15/02: 15 d on 1000.00: 1000 x 13.15 % x 15 / 365 = 5.40410958 -> 5.40
    #   16/02-02/03: 15 d on  600.00:  600 x 13.15 % x 15 / 365 = 3.24246575 -> 3.24
    #   total 8.64657534 -> 8.65; the last period takes the rounding: 8.65 - 5.40 = 3.25
    detail = late_interest_on_balance(D("1000.00"), date(2025, 1, 31), date(2025, 3, 2), "business",
                                      [Reduction(date(2025, 2, 15), D("400.00"))])
    assert rows(detail) == [
        (date(2025, 2, 1), date(2025, 2, 15), 15, D("1000.00"), D("13.15"), D("5.40")),
        (date(2025, 2, 16), date(2025, 3, 2), 15, D("600.00"), D("13.15"), D("3.25")),
    ]
    assert detail.amount == D("8.65")
    assert sum(p.amount for p in detail.periods) == detail.amount


def test_payments_across_a_half_year_and_an_ecb_change_split_the_periods():
    # 1000.00 due 2025-06-15; 300.00 paid 2025-06-30, 700.00 paid 2025-07-20; computed on 2025-08-31.
    #   16/06-30/06: 15 d on 1000.00 at 13.15 % (ECB 3.15 on 1 Jan): 1000 x .1315 x 15 / 365 = 5.40410959
    #   01/07-20/07: 20 d on  700.00 at 12.15 % (ECB 2.15 on 1 Jul):  700 x .1215 x 20 / 365 = 4.66027397
    #   from 21/07 nothing is owed: no period. Total 10.06438356 -> 10.06 (5.40 + 4.66)
    detail = late_interest_on_balance(D("1000.00"), date(2025, 6, 15), date(2025, 8, 31), "business",
                                      [(date(2025, 7, 20), D("700.00")), (date(2025, 6, 30), D("300.00"))])
    assert rows(detail) == [
        (date(2025, 6, 16), date(2025, 6, 30), 15, D("1000.00"), D("13.15"), D("5.40")),
        (date(2025, 7, 1), date(2025, 7, 20), 20, D("700.00"), D("12.15"), D("4.66")),
    ]
    assert detail.amount == D("10.06")
    assert detail.days == 35


def test_interest_runs_up_to_and_including_the_day_of_payment():
    due = date(2025, 6, 15)
    # Paid on the due date: never late.
    assert late_interest_on_balance(D("1000.00"), due, date(2025, 9, 1), "business",
                                    [Reduction(due, D("1000.00"))]).amount == D("0.00")
    # Paid the day after: that day bears interest, 1000 x 13.15 % x 1 / 365 = 0.36027 -> 0.36.
    detail = late_interest_on_balance(D("1000.00"), due, date(2025, 9, 1), "business",
                                      [Reduction(date(2025, 6, 16), D("1000.00"))])
    assert rows(detail) == [(date(2025, 6, 16), date(2025, 6, 16), 1, D("1000.00"), D("13.15"), D("0.36"))]


def test_a_credit_note_before_the_due_date_lowers_the_base_from_the_start():
    # 1000.00 due 2025-01-31, credit note of 250.00 on 2025-01-20: interest on 750.00 from 01/02.
    #   01/02-02/03: 30 d on 750.00: 750 x 13.15 % x 30 / 365 = 8.10616438 -> 8.11
    detail = late_interest_on_balance(D("1000.00"), date(2025, 1, 31), date(2025, 3, 2), "business",
                                      [Reduction(date(2025, 1, 20), D("250.00"))])
    assert rows(detail) == [(date(2025, 2, 1), date(2025, 3, 2), 30, D("750.00"), D("13.15"), D("8.11"))]


def test_a_public_body_keeps_the_rate_of_the_semester_interest_started_in_despite_a_credit_note():
    # 2000.00 due 2025-06-20, public body: ECB on 2025-01-01 3.15 + 8 = 11.15 % for the whole delay.
    # Credit note of 500.00 on 2025-07-10, computed on 2025-07-31:
    #   21/06-30/06: 10 d on 2000.00: 2000 x .1115 x 10 / 365 = 6.10958904 -> 6.11
    #   01/07-10/07: 10 d on 2000.00: same                    6.10958904 -> 6.11
    #   11/07-31/07: 21 d on 1500.00: 1500 x .1115 x 21 / 365 = 9.62260274 -> 9.62
    #   total 21.84178082 -> 21.84 (6.11 + 6.11 + 9.62)
    detail = late_interest_on_balance(D("2000.00"), date(2025, 6, 20), date(2025, 7, 31), "public",
                                      [Reduction(date(2025, 7, 10), D("500.00"))])
    assert rows(detail) == [
        (date(2025, 6, 21), date(2025, 6, 30), 10, D("2000.00"), D("11.15"), D("6.11")),
        (date(2025, 7, 1), date(2025, 7, 10), 10, D("2000.00"), D("11.15"), D("6.11")),
        (date(2025, 7, 11), date(2025, 7, 31), 21, D("1500.00"), D("11.15"), D("9.62")),
    ]
    assert detail.amount == D("21.84")


def test_a_consumer_owes_the_legal_rate_from_the_formal_notice_only():
    # 1500.00 due 2025-06-30, formal notice 2025-09-01: interest from 02/09 at the legal rate "other cases"
    # of 2025-H2, 2.76 %: 02/09-01/10 = 30 d: 1500 x 2.76 % x 30 / 365 = 3.40273973 -> 3.40
    detail = late_interest_on_balance(D("1500.00"), date(2025, 6, 30), date(2025, 10, 1), "consumer",
                                      notice_date=date(2025, 9, 1))
    assert rows(detail) == [(date(2025, 9, 2), date(2025, 10, 1), 30, D("1500.00"), D("2.76"), D("3.40"))]
    # No formal notice: no interest, whatever the delay; a contract rate does not apply to a consumer.
    assert late_interest_on_balance(D("1500.00"), date(2025, 6, 30), date(2025, 10, 1), "consumer",
                                    contract_rate=D("15")).amount == D("0.00")


def test_a_contract_rate_as_a_multiple_of_the_legal_rate_and_its_floor():
    # 2025-H2 legal rate (other cases) 2.76 %. 1000.00 due 2025-07-31, computed 2025-10-12: 73 days.
    #   5 x 2.76 = 13.80 %: 1000 x 13.80 % x 73 / 365 = 27.60
    five = late_interest_detail(D("1000.00"), date(2025, 7, 31), date(2025, 10, 12), "business",
                                contract_rate=ContractRate(legal_multiple=D("5")))
    assert (five.rate, five.amount) == (D("13.80"), D("27.60"))
    #   2 x 2.76 = 5.52 % is under the floor 3 x 2.76 = 8.28 %: 1000 x 8.28 % x 73 / 365 = 16.56
    two = late_interest_detail(D("1000.00"), date(2025, 7, 31), date(2025, 10, 12), "business",
                               contract_rate=ContractRate(legal_multiple=D("2")))
    assert (two.rate, two.amount) == (D("8.28"), D("16.56"))
    #   12 % of the terms of sale: 1000 x 12 % x 73 / 365 = 24.00
    assert late_interest(D("1000.00"), date(2025, 7, 31), date(2025, 10, 12), "business",
                         contract_rate=ContractRate(percent=D("12"))) == D("24.00")
    assert penalty_rate(date(2025, 8, 1), "business", contract_rate=ContractRate(legal_multiple=D("2"))) == D("8.28")


def test_a_leap_year_is_divided_by_365():
    # 2024 has 366 days; the law states yearly rates and we divide by 365 (see the module docstring).
    # 3650.00 due 2023-12-31, computed 2024-06-30: 182 days (31+29+31+30+31+30) at 14.50 % (ECB 4.50 + 10):
    #   3650 x 14.50 % x 182 / 365 = 10 x 14.50 x 1.82 = 263.90 (over 366 it would be 262.46)
    detail = late_interest_detail(D("3650.00"), date(2023, 12, 31), date(2024, 6, 30), "business")
    assert rows(detail) == [(date(2024, 1, 1), date(2024, 6, 30), 182, D("3650.00"), D("14.50"), D("263.90"))]


def test_the_whole_invoice_function_is_the_case_without_reductions():
    args = (D("10000.00"), date(2025, 6, 15), date(2025, 7, 15), "business")
    assert late_interest_detail(*args) == late_interest_on_balance(*args, [])
    assert late_interest_detail(*args).amount == D("103.97")


def test_the_letter_basis_cites_the_terms_of_sale_when_they_set_the_rate():
    assert basis_for("business") == "art. L441-10 du Code de commerce : taux BCE + 10 points"
    assert basis_for("business", ContractRate(percent=D("12"))) == CONTRACT_BASIS.format(terms="12,00 %")
    assert "3 fois le taux d'intérêt légal" in basis_for("business", ContractRate(legal_multiple=D("3.000")))
    assert basis_for("public", ContractRate(percent=D("12"))).startswith("art. L2192-13")


def test_bad_reductions_and_contract_rates_are_refused():
    with pytest.raises(TypeError):
        late_interest_on_balance(D("10.00"), date(2025, 1, 1), date(2025, 2, 1), "business", [(date(2025, 1, 5), 5.0)])
    with pytest.raises(ValueError):
        ContractRate(percent=D("10"), legal_multiple=D("3"))
    with pytest.raises(ValueError):
        ContractRate()
