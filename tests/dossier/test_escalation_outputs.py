"""The escalation step's outputs, per kind: delivered through the sending pipeline, stored, attached to
a task of the Today inbox and to the reminder the customer's timeline shows."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from pypdf import PdfReader

from relance.channels.context import build_customer_context
from relance.channels.delivery import deliver_pending
from relance.dunning.actions import DunningError, write_off_invoices
from relance.dunning.models import Task, TaskKind
from relance.ledger.models import Invoice
from relance.web.reads.reminders import find_attachments, list_lines
from relance.web.reads.timeline import Timeline
from tests.channels.email_support import make_reminder

RUN = date(2026, 9, 1)


def _pdf_text(content: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
def debtor(org, alice, bob, customer):
    customer.siren, customer.address_line1, customer.postcode, customer.collector = "552100554", "5 rue Vive", \
        "75002", bob
    customer.save()
    return customer


def _escalate(org, customer, invoices, kind, alice):
    reminder = make_reminder(org, customer, invoices, template=kind, step="escalation", channel="escalation",
                             run_date=RUN, tone="formal", approved_by=alice)
    stats = deliver_pending(org)
    assert stats.sent == 1, stats
    reminder.refresh_from_db()
    files = {r["name"]: r["content"] for r in find_attachments(reminder, list_lines(reminder))}
    assert all(content is not None for content in files.values()) and files
    task = Task.objects.get(reminder=reminder, kind=TaskKind.ESCALATION)
    return reminder, files, task


def test_an_order_for_payment_gives_the_cerfa_fields_and_their_pdf(org, alice, debtor, make_invoice):
    first = make_invoice(total="1500.00", due=date(2026, 6, 30))
    second = make_invoice(total="300.00", due=date(2026, 7, 10))
    reminder, files, task = _escalate(org, debtor, [first, second], "order_for_payment", alice)
    fields = json.loads(files["injonction-de-payer-C001-cerfa-12948-06.json"])
    assert fields["formulaire"] == "Cerfa n°12948*06"
    assert fields["demandeur"]["siren"] == "732829320" and fields["defendeur"]["siren"] == "552100554"
    today = build_customer_context(org, debtor, [first, second], "fr")["today"]
    claim = build_customer_context(org, debtor, [first, second], "fr", today=today)["claim"]
    assert Decimal(fields["creance"]["principal"]) == claim["principal"] == Decimal("1800.00")
    assert Decimal(fields["creance"]["interets"]["montant"]) == claim["interest"]
    assert Decimal(fields["creance"]["indemnite_forfaitaire"]) == claim["indemnity"] == Decimal("80.00")
    assert Decimal(fields["creance"]["total"]) == claim["total"]
    assert [f["numero"] for f in fields["factures"]] == [first.number, second.number]
    assert any(first.number in p for p in fields["pieces"])
    text = _pdf_text(files["injonction-de-payer-C001.pdf"])
    assert "12948*06" in text and "Dupont SARL" in text and "Total réclamé" in text
    # The task of the Today inbox: for the collector, with the amounts and the documents.
    assert task.assignee.username == "bob" and task.state == "open"
    assert task.outcome_data["escalation"] == "order_for_payment"
    assert task.outcome_data["amounts"]["Total"] == str(claim["total"])
    assert set(task.invoices.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert "Injonction de payer" in task.title and "injonction-de-payer-C001.pdf" in task.script
    # …and on the customer's timeline: the reminder, with its documents.
    events, _ = Timeline(org, debtor).events()
    assert any(e.kind == "reminder" and e.title == reminder.subject for e in events)


def test_small_claims_give_the_request_letter_to_the_commissaire_de_justice(org, alice, debtor, make_invoice):
    inv = make_invoice(total="900.00", due=date(2026, 6, 30))
    _reminder, files, task = _escalate(org, debtor, [inv], "small_claims", alice)
    text = _pdf_text(files["petites-creances-C001.pdf"])
    assert "petites créances" in text and "commissaire de justice" in text and "L125-1" in text
    assert task.outcome_data["escalation"] == "small_claims"


def test_small_claims_above_5000_eur_prepare_the_order_for_payment_instead(org, alice, debtor, make_invoice):
    inv = make_invoice(total="6000.00", due=date(2026, 6, 30))
    _reminder, files, task = _escalate(org, debtor, [inv], "small_claims", alice)
    assert "injonction-de-payer-C001.pdf" in files and task.outcome_data["escalation"] == "order_for_payment"
    assert "plafond" in _pdf_text(files["injonction-de-payer-C001.pdf"])


def test_a_collection_agency_gets_one_row_per_invoice(org, alice, debtor, make_invoice):
    first = make_invoice(total="1500.00", due=date(2026, 6, 30))
    second = make_invoice(total="300.00", due=date(2026, 7, 10))
    make_reminder(org, debtor, [first], run_date=date(2026, 7, 20), state="sent")
    _reminder, files, _task = _escalate(org, debtor, [first, second], "collection_agency", alice)
    rows = list(csv.DictReader(io.StringIO(files["agence-recouvrement-C001.csv"].decode("utf-8-sig")), delimiter=";"))
    assert [(r["invoice"], r["open_balance"], r["siren"]) for r in rows] == [
        (first.number, "1500.00", "552100554"), (second.number, "300.00", "552100554")]
    assert (rows[0]["last_action_date"], rows[0]["last_action"]) == ("2026-07-20", "email:first")
    assert rows[1]["last_action"] == "" and rows[0]["due_date"] == "2026-06-30"
    assert Decimal(rows[0]["claimed"]) == Decimal(rows[0]["open_balance"]) + Decimal(rows[0]["interest"]) + 40


def test_a_write_off_proposal_goes_to_the_owner_whose_click_writes_the_invoices_off(org, alice, bob, debtor,
                                                                                    make_invoice):
    first = make_invoice(total="150.00", due=date(2026, 6, 30))
    second = make_invoice(total="80.00", due=date(2026, 7, 10))
    _reminder, files, task = _escalate(org, debtor, [first, second], "write_off", alice)
    assert "Proposition de passage en perte" in _pdf_text(files["passage-en-perte-C001.pdf"])
    assert task.assignee == alice
    with pytest.raises(PermissionDenied):
        write_off_invoices(task, bob)
    written = write_off_invoices(task, alice)
    assert [i.number for i in written] == [first.number, second.number]
    assert set(Invoice.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        "written_off"}
    task.refresh_from_db()
    assert (task.state, task.outcome, task.outcome_data["written_off_total"]) == ("done", "written_off", "230.00")
    assert debtor.timeline_notes.filter(text__contains=first.number).exists()
    with pytest.raises(DunningError):
        write_off_invoices(task, alice)  # once
