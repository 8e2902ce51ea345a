"""A crafted customer with a history: invoices with PDFs, an e-mail sent over real SMTP, a registered
letter, a call with its outcome, a promise, a portal visit and an answer with its proof."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from tests.channels.email_support import authenticator, make_reminder, smtpd  # noqa: F401
from tests.dunning.conftest import make_customer, scenarios  # noqa: F401

DAY = date(2026, 9, 15)


def pdf(text: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<p>{text}</p>").write_pdf()


@pytest.fixture
def history(org, alice, bob, customer, make_invoice, smtpd):  # noqa: F811
    from relance.channels.delivery import deliver_pending
    from relance.dunning import actions
    from relance.dunning.models import TaskKind
    from relance.portal.models import PortalRequest, PortalVisit

    org.email_url = smtpd.url
    org.siret, org.vat_number = "73282932000074", "FR44732829320"
    org.save()
    customer.siren, customer.address_line1, customer.postcode = "552100554", "5 avenue Foch", "75016"
    customer.collector = bob
    customer.save()
    first = make_invoice(total="1500.00", due=date(2026, 6, 30))
    first.document.save(f"{first.number}.pdf", ContentFile(pdf(f"Facture {first.number}")))
    second = make_invoice(total="480.00", due=date(2026, 7, 15), issue=date(2026, 6, 15))
    second.document.save(f"{second.number}.pdf", ContentFile(pdf(f"Facture {second.number}")))
    mail = make_reminder(org, customer, [first], run_date=date(2026, 7, 10))
    letter = make_reminder(org, customer, [first, second], template="formal_notice", step="formal-notice",
                           channel="letter", run_date=date(2026, 8, 10), tone="formal", registered=True,
                           approved_by=alice)
    stats = deliver_pending(org)
    assert stats.sent == 2, stats
    actions.record_registered_letter(letter, "1A23456789012", date(2026, 8, 13))
    call = actions.create_task(customer, TaskKind.CALL, "Appeler Dupont", due_date=date(2026, 7, 20),
                               invoices=[first], user=bob)
    actions.record_call_outcome(call, "reached_promise", {"note": "le DAF promet un virement", "date": "2027-01-15"},
                                promises=[(first, date(2027, 1, 15), Decimal("1500.00"))], user=bob)
    PortalVisit.objects.create(organisation=org, customer=customer, page="home", reminder=mail)
    request = PortalRequest.objects.create(organisation=org, customer=customer, kind="paid", paid_on=date(2026, 8, 1),
                                           amount=Decimal("480.00"), comment="virement fait")
    request.invoices.set([second])
    request.proof.save("preuve.pdf", ContentFile(pdf("Avis de virement")))
    mail.refresh_from_db()
    letter.refresh_from_db()
    return {"invoices": [first, second], "mail": mail, "letter": letter, "call": call, "request": request}
