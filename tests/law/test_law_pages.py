"""The law in the web app and the engine: the invoice page's interest section, the terms-of-sale rate in
the settings page, the public buyers' scenario."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine

from relance.dunning.defaults import default_config, install_default_scenarios
from relance.dunning.models import ScenarioRule
from relance.dunning.rules import choose_scenario
from relance.dunning.state import CustomerState
from relance.ledger.balances import allocate
from relance.ledger.models import Payment

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def test_the_invoice_page_shows_the_interest_on_each_days_balance(client, bob, customer, make_invoice):
    # 1000.00 due 2025-01-31, 400.00 paid 2025-02-15, page seen on 2025-03-02 (hand-checked in
    # test_daily_balance.py): 5.40 on 1000.00 then 3.25 on 600.00; 8.65 + 40.00 + 600.00 = 648.65.
    inv = make_invoice(number="F1", total="1000.00", due=date(2025, 1, 31), issue=date(2025, 1, 1))
    payment = Payment.objects.create(organisation=inv.organisation, customer=customer, date=date(2025, 2, 15),
                                     amount=D("400.00"))
    allocate(inv, D("400.00"), payment=payment)
    client.force_login(bob)
    with time_machine.travel(datetime(2025, 3, 2, 10, 0, tzinfo=PARIS), tick=False):
        response = client.get(f"/o/abc/factures/{inv.pk}/")
    assert response.status_code == 200
    claim = response.context["claim"]
    assert [(p.base, p.amount) for p in claim.interest.periods] == [(D("1000.00"), D("5.40")),
                                                                    (D("600.00"), D("3.25"))]
    page = " ".join(response.content.decode().replace("\u202f", " ").replace("\u00a0", " ").split())
    assert "Intérêts de retard" in page and "Au 2 mars 2025, sur le solde dû de chaque jour" in page
    assert "16 févr. 2025</td><td>2 mars 2025</td><td class=\"num\">15</td>" in page
    assert "600,00 €" in page and "3,25 €" in page and "648,65 €" in page


def test_the_settings_page_sets_the_terms_of_sale_rate(client, alice, org):
    client.force_login(alice)
    data = {"section": "terms", "terms-min_reminder_amount": "25,00", "terms-small_amount_threshold": "200",
            "terms-run_hour": "7", "terms-currency": "eur", "terms-time_zone": "Europe/Paris", "terms-language": "fr",
            "terms-late_rate_mode": "legal_multiple", "terms-late_rate_value": "3,5"}
    assert client.post("/o/abc/reglages/", data).status_code == 302
    org.refresh_from_db()
    assert (org.late_rate_mode, org.late_rate_value) == ("legal_multiple", D("3.5"))
    data["terms-late_rate_value"] = ""
    response = client.post("/o/abc/reglages/", data)
    assert response.status_code == 400 and "valeur du taux manquante" in response.content.decode()


def test_a_public_buyer_follows_the_public_scenario():
    config = default_config()
    assert choose_scenario(CustomerState(1, kind="public"), D("100000"), config).code == "public"
    assert choose_scenario(CustomerState(2, kind="business"), D("100000"), config).code == "standard"
    steps = config.scenarios["public"].steps
    assert "sms" not in {s.channel for s in steps}


def test_new_organisations_get_the_public_rule_right_after_the_consumer_one(org):
    install_default_scenarios(org)
    rules = list(ScenarioRule.objects.filter(organisation=org).order_by("position").values_list("condition", flat=True))
    assert rules[rules.index("consumer") + 1] == "public"


def test_the_customer_page_sets_the_rate_agreed_with_the_customer(client, bob, customer):
    client.force_login(bob)
    page = client.get(f"/o/abc/clients/{customer.pk}/").content.decode()
    assert 'id="do-contract-rate"' in page
    url = f"/o/abc/clients/{customer.pk}/contract-rate/"
    assert client.post(url, {"rate-mode": "percent", "rate-value": "12,5"}).status_code == 302
    customer.refresh_from_db()
    assert (customer.late_rate_mode, customer.late_rate_value) == ("percent", D("12.5"))
    response = client.post(url, {"rate-mode": "percent", "rate-value": ""}, follow=True)
    assert "valeur du taux manquante" in response.content.decode()
    customer.refresh_from_db()
    assert customer.late_rate_value == D("12.5")
    client.post(url, {"rate-mode": "", "rate-value": "7"})
    customer.refresh_from_db()
    assert (customer.late_rate_mode, customer.late_rate_value) == ("", None)
