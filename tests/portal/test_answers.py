"""The three answers: each one a PortalRequest, a task for the team, and the dunning of its invoices
held (the run plans nothing for them, a reminder waiting to be sent loses them) until a collector
handles it; answers are limited per hour, CSRF-checked, and a proof is a small PDF/PNG/JPEG."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from relance.channels.delivery import deliver_pending
from relance.dunning.actions import plan_today
from relance.dunning.models import InvoiceSchedule, Reminder, Task, TaskKind
from relance.dunning.rules import hold_reason
from relance.dunning.snapshot import get_policy, load_customers
from relance.dunning.snapshot_invoices import load_invoices_by_id
from relance.portal.actions import PortalError, handle_portal_request, submit_answer
from relance.portal.models import PortalRequest
from tests.portal.conftest import NOW, RUN

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post(client, link, kind, data, **extra):
    return client.post(f"{link}answer/{kind}/", data, **extra)


def paid(client, link, invoices=(), **data):
    fields = {"paid-paid_on": "2026-07-03", "paid-amount": "1200.00",
              "paid-invoices": [str(i.pk) for i in invoices], **data}
    return post(client, link, "paid", fields)


def held(org, invoice) -> str:
    state = load_invoices_by_id(org, [invoice.pk])[0]
    customer = load_customers(org, [invoice.customer_id])[invoice.customer_id]
    return hold_reason(state, customer, RUN, get_policy(org))


@time_machine.travel(NOW, tick=False)
def test_already_paid_makes_a_request_a_check_payment_task_and_a_hold(client, dupuis, link, org):
    cust, (f1, f2) = dupuis
    response = paid(client, link, [f1], **{"paid-proof": SimpleUploadedFile("virement.png", PNG, "image/png")})
    assert response.status_code == 302 and response["Location"].endswith("?sent=paid")
    request = PortalRequest.objects.get()
    assert (request.kind, request.state, request.customer_id) == ("paid", "open", cust.pk)
    assert request.paid_on == date(2026, 7, 3) and request.amount == Decimal("1200.00")
    assert list(request.invoices.all()) == [f1]
    assert request.proof.name.endswith(".png") and request.proof.read() == PNG
    task = request.task
    assert task.kind == TaskKind.CHECK_PAYMENT and task.state == "open" and list(task.invoices.all()) == [f1]
    assert "Dupuis SA" in task.title and "1\u202f200,00\xa0€" in task.script
    assert held(org, f1) == "portal" and held(org, f2) == ""
    # The page thanks the customer and shows the answer under review.
    text = client.get(response["Location"]).content.decode()
    assert "Merci" in text and "Votre réponse est en cours d'examen" in text


@time_machine.travel(NOW, tick=False)
def test_a_dispute_names_its_invoices_and_its_reason(client, dupuis, link, org):
    _, (f1, f2) = dupuis
    response = post(client, link, "dispute", {"dispute-invoices": [str(f2.pk)], "dispute-reason": "wrong_amount",
                                              "dispute-comment": "Remise de 10 % oubliée"})
    assert response.status_code == 302
    request = PortalRequest.objects.get()
    assert request.kind == "dispute" and list(request.invoices.all()) == [f2]
    assert request.reason == "Le montant est erroné" and request.comment == "Remise de 10 % oubliée"
    assert request.task.kind == TaskKind.REVIEW
    assert held(org, f2) == "portal" and held(org, f1) == ""


@time_machine.travel(NOW, tick=False)
def test_a_dispute_needs_an_invoice(client, dupuis, link):
    response = post(client, link, "dispute", {"dispute-reason": "wrong_amount"})
    assert response.status_code == 400 and PortalRequest.objects.count() == 0
    assert "Ce champ est obligatoire" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_plan_asked_holds_every_invoice_when_none_is_ticked(client, dupuis, link, org):
    _, (f1, f2) = dupuis
    response = post(client, link, "plan", {"plan-instalments": "4", "plan-comment": "Trésorerie tendue"})
    assert response.status_code == 302
    request = PortalRequest.objects.get()
    assert request.kind == "plan" and request.instalments == 4
    assert sorted(request.invoices.values_list("number", flat=True)) == ["F1", "F2"]
    assert request.task.kind == TaskKind.REVIEW and "4" in request.task.script
    assert held(org, f1) == held(org, f2) == "portal"


@time_machine.travel(NOW, tick=False)
def test_the_run_no_longer_plans_the_invoices_answered(client, dupuis, link, org):
    cust, (f1, f2) = dupuis
    paid(client, link, [f1])
    plan_today(org, RUN)
    reminder = Reminder.objects.get(customer=cust)
    assert list(reminder.lines.values_list("invoice__number", flat=True)) == ["F2"]
    assert not InvoiceSchedule.objects.filter(invoice=f1, next_date__isnull=False).exists()
    assert f1.pk not in (reminder.other_invoice_ids or [])


@time_machine.travel(NOW, tick=False)
def test_a_pending_reminder_is_cancelled_before_sending(client, dupuis, link, org, tmp_path):
    org.email_url = f"file://{tmp_path}"
    org.save()
    cust, (f1, f2) = dupuis
    plan_today(org, RUN)
    reminder = Reminder.objects.get(customer=cust)
    assert reminder.state == "planned" and reminder.lines.count() == 2
    post(client, link, "plan", {"plan-instalments": "3"})
    stats = deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert stats.sent == 0 and reminder.state == "cancelled"
    assert "réponse du client sur le portail" in reminder.error
    assert list(tmp_path.glob("*.eml")) == []


@time_machine.travel(NOW, tick=False)
def test_handling_the_answer_lifts_the_hold(client, dupuis, link, org, bob):
    cust, (f1, f2) = dupuis
    paid(client, link, [f1])
    request = PortalRequest.objects.get()
    handle_portal_request(request, "Virement reçu partiellement, relance maintenue", user=bob)
    request.refresh_from_db()
    assert request.state == "handled" and request.handled_by == bob and request.handled_at is not None
    assert request.resolution == "Virement reçu partiellement, relance maintenue"
    task = Task.objects.get(pk=request.task_id)
    assert task.state == "done" and task.done_at is not None
    assert held(org, f1) == ""
    assert InvoiceSchedule.objects.get(invoice=f1).next_date is not None
    plan_today(org, RUN)
    lines = Reminder.objects.get(customer=cust).lines.values_list("invoice__number", flat=True)
    assert sorted(lines) == ["F1", "F2"]
    with pytest.raises(PortalError):
        handle_portal_request(request, "encore", user=bob)


@time_machine.travel(NOW, tick=False)
def test_another_open_answer_keeps_the_hold(client, dupuis, link, org, bob):
    _, (f1, _) = dupuis
    paid(client, link, [f1])
    post(client, link, "dispute", {"dispute-invoices": [str(f1.pk)], "dispute-reason": "defective"})
    first = PortalRequest.objects.order_by("id").first()
    handle_portal_request(first, "Aucun paiement reçu", user=bob)
    assert held(org, f1) == "portal"


@time_machine.travel(NOW, tick=False)
def test_only_the_team_with_write_rights_handles_an_answer(client, dupuis, link, victor, charlie):
    paid(client, link)
    request = PortalRequest.objects.get()
    for user in (victor, charlie):
        with pytest.raises(PermissionDenied):
            handle_portal_request(request, "vu", user=user)
    with pytest.raises(PortalError):
        handle_portal_request(request, "  ", user=None)
    assert PortalRequest.objects.get().state == "open"


def test_answers_are_limited_per_hour(client, dupuis, link, settings):
    settings.RELANCE_PORTAL_ANSWERS_PER_HOUR = 2
    _, (f1, _) = dupuis
    with time_machine.travel(NOW, tick=False):
        assert paid(client, link, [f1]).status_code == 302
        assert paid(client, link, [f1]).status_code == 302
        response = paid(client, link, [f1])
        assert response.status_code == 429 and PortalRequest.objects.count() == 2
        assert "plusieurs réponses" in response.content.decode()
        assert "J'ai déjà payé" not in client.get(link).content.decode()  # no form while the limit holds
    with time_machine.travel(NOW + timedelta(minutes=61), tick=False):
        assert paid(client, link, [f1]).status_code == 302
        assert PortalRequest.objects.count() == 3


@time_machine.travel(NOW, tick=False)
def test_the_limit_counts_every_link_of_the_customer(dupuis, settings):
    settings.RELANCE_PORTAL_ANSWERS_PER_HOUR = 1
    cust, invoices = dupuis
    submit_answer(cust, "plan", invoices, instalments=3)
    with pytest.raises(PortalError):
        submit_answer(cust, "plan", invoices, instalments=3)


@time_machine.travel(NOW, tick=False)
def test_answers_are_csrf_checked(dupuis, link):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, link, "plan", {"plan-instalments": "3"}).status_code == 403
    page = strict.get(link)
    token = page.cookies["csrftoken"].value
    response = post(strict, link, "plan", {"plan-instalments": "3", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and PortalRequest.objects.count() == 1


@pytest.mark.parametrize(("name", "content", "error"), [
    ("virement.exe", b"MZ\x90\x00", "PDF, PNG ou JPEG"),
    ("faux.pdf", b"<html>not a pdf</html>", "PDF, PNG ou JPEG"),
    ("gros.pdf", b"%PDF-1.4\n" + b"0" * 2048, "trop volumineux"),
])
@time_machine.travel(NOW, tick=False)
def test_a_proof_is_a_small_pdf_png_or_jpeg(client, dupuis, link, settings, name, content, error):
    settings.RELANCE_PORTAL_PROOF_MAX_BYTES = 1024
    response = paid(client, link, **{"paid-proof": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and PortalRequest.objects.count() == 0
    assert error in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_payment_date_in_the_future_is_refused(client, dupuis, link):
    response = paid(client, link, **{"paid-paid_on": "2026-07-20"})
    assert response.status_code == 400 and PortalRequest.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_an_invoice_of_another_customer_cannot_be_named(client, dupuis, link, make_invoice, customer):
    theirs = make_invoice(number="F9", cust=customer)
    response = post(client, link, "dispute", {"dispute-invoices": [str(theirs.pk)], "dispute-reason": "defective"})
    assert response.status_code == 400 and PortalRequest.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_an_unknown_answer_is_404(client, dupuis, link):
    assert post(client, link, "refund", {}).status_code == 404
    assert client.get(f"{link}answer/paid/").status_code == 405


@time_machine.travel(NOW, tick=False)
def test_an_oversized_upload_is_refused_before_it_is_read(client, dupuis, link, settings):
    settings.RELANCE_PORTAL_PROOF_MAX_BYTES = 1024
    big = SimpleUploadedFile("gros.pdf", b"%PDF-1.4\n" + b"0" * 200_000, "application/pdf")
    assert paid(client, link, **{"paid-proof": big}).status_code == 413
    assert PortalRequest.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_delivery_applies_the_hold_itself(dupuis, org, tmp_path):
    """Even an answer recorded without the eager re-check (the rule alone) stops the send."""
    org.email_url = f"file://{tmp_path}"
    org.save()
    cust, (f1, f2) = dupuis
    plan_today(org, RUN)
    reminder = Reminder.objects.get(customer=cust)
    request = PortalRequest.objects.create(organisation=org, customer=cust, kind="dispute", reason="test")
    request.invoices.set([f1])
    assert deliver_pending(now=NOW).sent == 1
    reminder.refresh_from_db()
    # Invoice numbers as words: the portal link's random token may hold the letters "F1".
    numbers = set(re.findall(r"(?<![\w-])F\d(?![\w-])", reminder.body_text))
    assert reminder.state == "sent" and numbers == {"F2"}
