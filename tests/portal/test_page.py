"""The customer's page: open invoices, amount due, bank details, the EPC QR code of that very amount,
the payment link, the invoices' PDFs behind the token, each view recorded, in the customer's language."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile

from relance.channels.models import OrganisationChannelSettings
from relance.channels.qr_email import epc_qr_png_data_uri
from relance.ledger.references import customer_creditor_reference  # noqa: E402
from relance.lib.qr import epc_payload
from relance.portal.models import PortalVisit
from relance.portal.tokens import portal_path
from tests.portal.conftest import NOW

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@time_machine.travel(NOW, tick=False)
def test_the_page_shows_the_open_invoices_and_the_amount_due(client, dupuis, link):
    response = client.get(link)
    text = response.content.decode()
    assert response.status_code == 200
    assert "F1" in text and "F2" in text
    assert response.context["amount_due"] == Decimal("1500.00")
    assert "1\u202f500,00\xa0€" in text or "1 500,00\xa0€" in text  # Babel's French format
    assert "FR14 2004 1010 0505 0001 3M02 606" in text and "PSSTFRPPPAR" in text
    assert customer_creditor_reference(dupuis[0]) in text  # the transfer reference (ISO 11649)


@time_machine.travel(NOW, tick=False)
def test_the_qr_code_asks_for_the_amount_shown(client, dupuis, link, org):
    response = client.get(link)
    page = response.context
    assert "EUR1500" in page["epc_payload"].split("\n")  # 1 500,00 € as the EPC standard writes it
    reference = customer_creditor_reference(dupuis[0])
    assert page["epc_payload"] == epc_payload(org.legal_name, org.iban, org.bic, Decimal("1500.00"), reference)
    expected = epc_qr_png_data_uri(org.legal_name, org.iban, org.bic, page["amount_due"], page["reference"])
    image = re.search(r'<img src="([^"]+)"[^>]*id="epc-qr"', response.content.decode())
    assert image and image.group(1) == expected


@time_machine.travel(NOW, tick=False)
def test_a_settled_invoice_is_not_asked_for(client, dupuis, link):
    from relance.ledger.balances import set_external_paid

    _, (f1, _) = dupuis
    set_external_paid(f1, f1.total)
    response = client.get(link)
    assert response.context["amount_due"] == Decimal("300.00")
    assert [r["invoice"].number for r in response.context["rows"]] == ["F2"]


@time_machine.travel(NOW, tick=False)
def test_the_payment_link_is_the_organisations_when_it_has_one(client, dupuis, link, org):
    assert 'rel="noopener noreferrer"' not in client.get(link).content.decode()
    OrganisationChannelSettings.objects.create(organisation=org, payment_link_url="https://pay.example.com/?r={reference}")
    text = client.get(link).content.decode()
    assert f'href="https://pay.example.com/?r={customer_creditor_reference(dupuis[0])}"' in text


@time_machine.travel(NOW, tick=False)
def test_each_view_is_recorded_with_the_address_and_the_browser(client, dupuis, link):
    cust, _ = dupuis
    client.get(link, HTTP_USER_AGENT="Mozilla/5.0 (test)", REMOTE_ADDR="203.0.113.7")
    client.get(link)
    visits = list(PortalVisit.objects.filter(customer=cust).order_by("id"))
    assert len(visits) == 2
    assert visits[0].ip_address == "203.0.113.7" and visits[0].user_agent == "Mozilla/5.0 (test)"
    assert visits[0].organisation_id == cust.organisation_id and visits[0].page == "home"


@time_machine.travel(NOW, tick=False)
def test_a_link_from_a_reminder_records_which_one(client, dupuis):
    from tests.channels.email_support import make_reminder

    cust, invoices = dupuis
    reminder = make_reminder(cust.organisation, cust, invoices)
    client.get(portal_path(cust.organisation_id, cust.pk, reminder.pk))
    assert PortalVisit.objects.get().reminder_id == reminder.pk


@time_machine.travel(NOW, tick=False)
def test_an_english_customer_reads_english(client, dupuis, link):
    cust, _ = dupuis
    cust.language = "en"
    cust.save()
    response = client.get(link)
    text = response.content.decode()
    assert response["Content-Language"] == "en" and '<html lang="en">' in text
    assert "Amount due" in text and "I have already paid" in text and "€1,500.00" in text


@time_machine.travel(NOW, tick=False)
def test_a_french_customer_reads_french(client, dupuis, link):
    text = client.get(link, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr">' in text
    assert "Montant dû" in text and "J'ai déjà payé" in text and "Je conteste cette facture" in text
    assert "Je souhaite un échéancier" in text


@time_machine.travel(NOW, tick=False)
def test_the_page_is_private(client, dupuis, link):
    response = client.get(link)
    assert "no-store" in response["Cache-Control"] and "noindex" in response["X-Robots-Tag"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


@time_machine.travel(NOW, tick=False)
def test_an_invoice_pdf_downloads_through_the_token(client, dupuis, link):
    cust, (f1, f2) = dupuis
    f1.document.save("f1.pdf", ContentFile(PDF))
    text = client.get(link).content.decode()
    url = f"{link}invoices/{f1.pk}/pdf/"
    assert f'href="{url}"' in text
    assert f"{link}invoices/{f2.pk}/pdf/" not in text  # F2 has no document
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    assert 'filename="F1.pdf"' in response["Content-Disposition"]
    assert PortalVisit.objects.filter(customer=cust, page="pdf:F1").count() == 1
    assert client.get(f"{link}invoices/{f2.pk}/pdf/").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_another_customers_pdf_answers_404(client, dupuis, link, make_invoice, customer):
    theirs = make_invoice(number="F9", cust=customer)
    theirs.document.save("f9.pdf", ContentFile(PDF))
    assert client.get(f"{link}invoices/{theirs.pk}/pdf/").status_code == 404


def test_an_expired_link_no_longer_gives_the_pdf(client, dupuis):
    cust, (f1, _) = dupuis
    f1.document.save("f1.pdf", ContentFile(PDF))
    with time_machine.travel(NOW, tick=False):
        path = portal_path(cust.organisation_id, cust.pk)
    with time_machine.travel(NOW + timedelta(days=91), tick=False):
        assert client.get(f"{path}invoices/{f1.pk}/pdf/").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_every_form_field_has_a_label(client, dupuis, link):
    text = client.get(link).content.decode()
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', text))
    assert ids
    for field_id in ids:
        assert f'for="{field_id}"' in text, field_id
    assert text.count('name="csrfmiddlewaretoken"') == 3


@time_machine.travel(NOW, tick=False)
def test_the_page_reads_a_bounded_number_of_queries(client, dupuis, link, make_invoice, django_assert_max_num_queries):
    cust, _ = dupuis
    for n in range(30):
        make_invoice(number=f"G{n}", cust=cust)
    with django_assert_max_num_queries(30):  # the visit's audit log entry included
        assert client.get(link).status_code == 200


def test_the_portal_templates_hold_no_inline_script_or_style():
    from pathlib import Path

    import relance.portal

    folder = Path(relance.portal.__file__).parent / "templates"
    templates = list(folder.rglob("*.html"))
    assert templates
    for template in templates:
        text = template.read_text()
        assert "<style" not in text and " style=" not in text and "<script" not in text, template
