"""Recovery costs beyond the fixed indemnity: claimed on justification from a business or a public body
(L441-10 II), never from a consumer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from relance.law.recovery_costs import recovery_costs
from relance.lib.money import cents


@pytest.mark.parametrize("kind, incurred, indemnity, claimed", [
    ("business", "250.00", "80.00", "170.00"),
    ("business", "30.00", "40.00", "0.00"),  # the indemnity already covers them
    ("business", "40.00", "40.00", "0.00"),
    ("business", "12.345", "0", "12.35"),
    ("public", "140.00", "40.00", "100.00"),
    ("consumer", "250.00", "0.00", "0.00"),
    ("consumer", "250.00", "40.00", "0.00"),
])
def test_it_claims_what_exceeds_the_indemnity_except_from_a_consumer(kind, incurred, indemnity, claimed):
    result = recovery_costs(kind, Decimal(incurred), Decimal(indemnity))
    assert result.claimed == Decimal(claimed)
    assert result.incurred == cents(Decimal(incurred)) and result.indemnity == cents(Decimal(indemnity))


def test_each_kind_states_its_basis():
    assert "L441-10 II" in recovery_costs("business", Decimal(100), Decimal(40)).basis
    assert "L111-8" in recovery_costs("consumer", Decimal(100), Decimal(0)).basis
    assert "commande publique" in recovery_costs("public", Decimal(100), Decimal(40)).basis


@pytest.mark.parametrize("kind, incurred", [("robot", "1"), ("business", "-1")])
def test_it_refuses_what_it_cannot_compute(kind, incurred):
    with pytest.raises(ValueError):
        recovery_costs(kind, Decimal(incurred), Decimal(0))
