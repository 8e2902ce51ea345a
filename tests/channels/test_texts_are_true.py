"""Every message is true for the data it was rendered from: e-mails (text and HTML), SMS and letters
(real WeasyPrint PDFs read back with pypdf), rendered from contexts built from the database."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape

import pytest
from pypdf import PdfReader

from relance.channels.context import build_context
from relance.channels.letter.channel import LetterChannel
from relance.channels.templates import render_message
from relance.lib.qr import epc_payload
from tests.channels.email_support import make_reminder

TODAY = date(2026, 7, 10)


def flat(text: str) -> str:
    """One line, entities decoded: what a reader sees, whatever the spacing and the markup's escapes."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", unescape(text))


def pdf_text(pdf: bytes) -> str:
    return flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def message(reminder, today=TODAY):
    context = build_context(reminder, today=today)
    return render_message(reminder.template, reminder.language, context), context


def letter(reminder, today=TODAY) -> tuple[str, dict]:
    context = build_context(reminder, today=today)
    out = LetterChannel().render(reminder, context)
    return pdf_text(out.attachments[0].content), context


def sent_before(org, customer, invoice, day: date):
    return make_reminder(org, customer, [invoice], run_date=day, step=f"sent-{day}", state="sent",
                         sent_at=datetime(day.year, day.month, day.day, 8, tzinfo=UTC))


@pytest.fixture
def addressed(customer):
    customer.address_line1, customer.postcode, customer.city = "3 rue Lafayette", "75009", "Paris"
    customer.save()
    return customer


def formal_letter(org, customer, invoices, **fields):
    fields.setdefault("registered", True)
    fields.setdefault("step", f"formal-{fields.get('run_date', TODAY)}")
    return make_reminder(org, customer, invoices, template="formal_notice", channel="letter", tone="formal", **fields)


# --- overdue and not yet due ------------------------------------------------------------------


def test_a_grouped_email_lists_invoices_not_yet_due_apart_and_never_as_overdue(org, customer, make_invoice):
    late = make_invoice(total="1000.00", due=date(2026, 6, 30))
    soon = make_invoice(total="250.00", due=date(2026, 12, 5))
    sent_before(org, customer, late, date(2026, 7, 3))
    for day, template in enumerate(("first_reminder", "firm_reminder", "broken_promise", "call_recap"), start=12):
        reminder = make_reminder(org, customer, [late, soon], template=template, step=template,
                                 run_date=date(2026, 7, day))
        rendered, _ = message(reminder)
        text, html = rendered.text, flat(rendered.html)
        assert "échue le 05/12/2026" not in text, template
        assert f"{soon.number} du 31/05/2026, à échoir le 05/12/2026 : 250,00 €" in text, template
        assert "Total échu : 1 000,00 €" in text and "Total à échoir : 250,00 €" in text, template
        assert "Total à échoir" in html and "05/12/2026" in html, template
    first, _ = message(make_reminder(org, customer, [late, soon], run_date=date(2026, 7, 11), step="first-again"))
    assert first.subject == f"Suivi facture {late.number} – 1 000,00 € dû"
    assert "la facture suivante reste impayée" in first.text


def test_a_reminder_of_invoices_not_yet_due_never_says_overdue_or_late(org, customer, make_invoice):
    soon = [make_invoice(total="250.00", due=date(2026, 7, 13)), make_invoice(total="90.00", due=date(2026, 7, 13))]
    words_by_language = (("fr", ("échu", "retard")), ("en", ("overdue", "late")))
    cases = [(language, words, invoices) for language, words in words_by_language for invoices in (soon[:1], soon)]
    for day, (language, words, invoices) in enumerate(cases, start=1):
        reminder = make_reminder(org, customer, invoices, template="friendly_reminder", step=f"j-3-{day}",
                                 language=language, run_date=date(2026, 7, day))
        rendered, _ = message(reminder, today=TODAY)
        for part in (rendered.subject, rendered.text, rendered.html):
            assert not any(word in part.lower() for word in words), (language, part)
    sms = make_reminder(org, customer, soon[:1], template="sms_reminder", step="sms", channel="sms",
                        run_date=date(2026, 7, 9))
    assert "échue" not in message(sms)[0].text


# --- earlier contacts ---------------------------------------------------------------------------


def test_a_first_message_never_speaks_of_earlier_messages(org, addressed, make_invoice):
    inv = make_invoice(total="1200.00", due=date(2026, 6, 30))
    text, _ = letter(formal_letter(org, addressed, [inv]))
    assert "Malgré" not in text and "précédents" not in text
    firm, _ = message(make_reminder(org, addressed, [inv], template="firm_reminder", step="firm"))
    assert "Malgré" not in firm.text and "Malgré" not in firm.html


def test_earlier_messages_are_mentioned_once_there_were_some(org, addressed, make_invoice):
    inv = make_invoice(total="1200.00", due=date(2026, 6, 30))
    sent_before(org, addressed, inv, date(2026, 7, 2))
    text, _ = letter(formal_letter(org, addressed, [inv]))
    assert "Malgré nos relances restées sans effet (notre message du 02/07/2026)" in text
    firm, _ = message(make_reminder(org, addressed, [inv], template="firm_reminder", step="firm"))
    assert "Malgré nos précédents messages du 02/07/2026" in firm.text


# --- who is addressed, who signs ---------------------------------------------------------------


def test_a_letter_opens_with_the_contact_persons_civility_and_name(org, addressed, make_invoice):
    addressed.name = "Maçonnerie Royer"
    addressed.contact_name, addressed.contact_civility = "Martin", "Mme"
    addressed.save()
    inv = make_invoice(total="1200.00", due=date(2026, 6, 30))
    text, _ = letter(formal_letter(org, addressed, [inv]))
    assert "Madame Martin," in text
    assert "Bonjour" not in text
    assert "Nous vous prions d'agréer, Madame, l'expression" in text
    email, _ = message(make_reminder(org, addressed, [inv], template="firm_reminder", step="firm"))
    assert email.text.startswith("Bonjour Madame Martin,")
    addressed.contact_civility = ""
    addressed.save()
    text, _ = letter(formal_letter(org, addressed, [inv], run_date=date(2026, 7, 9)))
    assert "Madame, Monsieur," in text and "Bonjour" not in text


def test_the_signature_does_not_repeat_the_organisation_without_a_collector(org, customer, make_invoice):
    inv = make_invoice()
    rendered, _ = message(make_reminder(org, customer, [inv]))
    assert "ABC Consulting\nABC Consulting" not in rendered.text
    assert rendered.text.count("ABC Consulting") == 1
    assert "ABC Consulting<br>ABC Consulting" not in rendered.html


# --- the formal notice --------------------------------------------------------------------------


def test_a_formal_notice_claims_one_amount_by_one_date_and_its_qr_code_carries_it(org, addressed, make_invoice):
    invoices = [make_invoice(total="12500.00", due=date(2026, 3, 31)), make_invoice(total="10000.00",
                                                                                  due=date(2026, 4, 30))]
    reminder = formal_letter(org, addressed, invoices)
    text, context = letter(reminder)
    claim = context["claim"]
    total = f"{claim['total']:,.2f}".replace(",", " ").replace(".", ",") + " €"
    assert claim["principal"] == Decimal("22500.00") and claim["total"] > claim["principal"] + Decimal("80")
    assert f"Total réclamé {total}" in text
    assert f"Montant à régler : {total}" in text
    assert f"la somme de {total} au plus tard le 18 juillet 2026" in text
    assert "18 juillet 2026" in text and text.count("18 juillet 2026") == 1 and "18/07/2026" not in text
    payload = context["epc_payload"].split("\n")
    assert Decimal(payload[7].removeprefix("EUR")) == claim["total"]
    assert context["epc_payload"] == epc_payload(org.legal_name, org.iban, org.bic, claim["total"],
                                                  context["reference"])
    email, _ = message(make_reminder(org, addressed, invoices, template="formal_notice", step="formal-mail",
                                     tone="formal"))
    assert f"Pour régler {total}" in email.text and f"la somme de {total}" in email.text


def test_interest_over_two_half_years_prints_each_period_with_its_rate(org, addressed, make_invoice):
    inv = make_invoice(total="10000.00", due=date(2025, 6, 15), issue=date(2025, 5, 15))
    today = date(2025, 7, 15)
    reminder = formal_letter(org, addressed, [inv], run_date=today)
    text, context = letter(reminder, today=today)
    assert context["late_interest"] == Decimal("103.97")
    first = (f"facture n° {inv.number}, du 16/06/2025 au 30/06/2025, 15 jours sur 10 000,00 € au taux de 13,15 % : "
             "54,04 €")
    second = (f"facture n° {inv.number}, du 01/07/2025 au 15/07/2025, 15 jours sur 10 000,00 € au taux de 12,15 % : "
              "49,93 €")
    assert first in text and second in text
    email, _ = message(make_reminder(org, addressed, [inv], template="formal_notice", step="fm", tone="formal",
                                     run_date=today), today=today)
    assert "du 16/06/2025 au 30/06/2025, 15 jours sur 10 000,00 € au taux de 13,15 % : 54,04 €" in email.text
    assert "du 01/07/2025 au 15/07/2025, 15 jours sur 10 000,00 € au taux de 12,15 % : 49,93 €" in flat(email.html)


def test_a_rate_past_the_end_of_the_table_is_printed_as_an_estimate(org, addressed, make_invoice):
    inv = make_invoice(total="1200.00", due=date(2026, 6, 30))
    text, context = letter(formal_letter(org, addressed, [inv]))
    assert context["estimated_rates"] == ["2026-07-01/2026-07-10"]
    assert "12,15 % (taux estimé" in text
    email, _ = message(make_reminder(org, addressed, [inv], template="formal_notice", step="fm", tone="formal"))
    assert "12,15 % (taux estimé" in email.text


def test_a_public_body_is_reminded_of_the_public_procurement_law_only(org, addressed, make_invoice):
    addressed.kind = "public"
    addressed.save()
    inv = make_invoice(total="1200.00", due=date(2026, 5, 31))
    text, _ = letter(formal_letter(org, addressed, [inv]))
    firm, _ = message(make_reminder(org, addressed, [inv], template="firm_reminder", step="firm"))
    formal, _ = message(make_reminder(org, addressed, [inv], template="formal_notice", step="fm", tone="formal",
                                      run_date=date(2026, 7, 9)))
    for printed in (text, firm.text, flat(firm.html), formal.text, flat(formal.html)):
        assert "L441-10" not in printed and "Code de commerce" not in printed
        assert "L2192-13" in printed and "R2192-31 à R2192-36" in printed and "D2192-35" in printed


@pytest.mark.parametrize(("language", "link", "ending"), [
    ("fr", "", "» ."), ("fr", "https://pay.example.com/?ref={reference}", "» ;"),
    ("en", "", '".'), ("en", "https://pay.example.com/?ref={reference}", '";'),
])
def test_the_ways_to_pay_end_as_a_list_does_whatever_is_offered(org, customer, make_invoice, language, link, ending):
    from relance.channels.models import OrganisationChannelSettings

    OrganisationChannelSettings.objects.create(organisation=org, payment_link_url=link)
    reminder = make_reminder(org, customer, [make_invoice()], language=language)
    rendered, _ = message(reminder)
    transfer = next(line for line in rendered.text.splitlines() if "IBAN" in line)
    assert transfer.replace("».", "» .").endswith(ending)
