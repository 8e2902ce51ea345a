"""The portal hold is part of the one eligibility rule (rules.hold_reason) and of the status shown."""

from __future__ import annotations

from datetime import date

from relance.dunning.labels import status_label
from relance.dunning.planner import next_dates
from relance.dunning.rules import hold_reason, invoice_status
from relance.dunning.state import PromiseState
from tests.dunning.factories import CONFIG, POLICY, customer, invoice

TODAY = date(2026, 7, 6)


def test_an_invoice_answered_on_the_portal_is_held():
    assert hold_reason(invoice(portal_request=True), customer(), TODAY, POLICY) == "portal"
    assert hold_reason(invoice(), customer(), TODAY, POLICY) == ""


def test_the_stronger_reasons_come_first():
    assert hold_reason(invoice(portal_request=True, balance="0"), customer(), TODAY, POLICY) == "settled"
    assert hold_reason(invoice(portal_request=True, disputed=True), customer(), TODAY, POLICY) == "disputed"
    # The answer waits for a person whatever the promise or the pause say.
    promised = invoice(portal_request=True, promise=PromiseState(1, TODAY))
    assert hold_reason(promised, customer(paused_until=TODAY), TODAY, POLICY) == "portal"


def test_a_held_invoice_has_no_next_date_and_its_own_status():
    held = invoice(portal_request=True)
    (advance,) = next_dates(CONFIG, {1: customer()}, [held], TODAY)
    assert advance.next_date is None
    scenario = CONFIG.scenarios[CONFIG.default_scenario]
    assert invoice_status(held, customer(), scenario, TODAY, POLICY) == "portal"
    assert status_label("portal", "fr") == "Réponse du client à examiner"
    assert status_label("portal", "en") == "Customer answer to review"
