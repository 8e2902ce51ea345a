"""The letter PDF read back with pypdf: the window address block, the text, the amounts, the QR."""

from __future__ import annotations

import base64
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import segno
from pypdf import PdfReader

from relance.channels.letter.layout import WINDOW, body_blocks, letter_html, render_pdf
from relance.lib.qr import epc_payload, epc_svg_data_uri

MM = 72 / 25.4
A4_HEIGHT_MM = 297


def context(language="fr", kind="business", **extra) -> dict:
    today = date(2026, 7, 10)
    inv = {"number": "F2026-0042", "issue_date": date(2026, 5, 31), "due_date": date(2026, 6, 30),
           "total": Decimal("1500.00"), "balance": Decimal("1500.00"), "days_late": 10, "currency": "EUR"}
    ctx = {
        "language": language, "today": today, "deadline_days": 8, "deadline": today + timedelta(days=8),
        "org": {"legal_name": "ABC Consulting", "address_lines": ["12 rue de la République", "69002 Lyon"],
                "siren": "732829320", "vat_number": "FR44732829320", "iban": "FR1420041010050500013M02606",
                "bic": "PSSTFRPPPAR", "email": "compta@abc-consulting.fr", "phone": "04 72 00 00 00", "city": "Lyon"},
        "customer": {"name": "Dupont SARL", "external_id": "C001", "address_lines": ["3 rue Lafayette", "75009 Paris"],
                     "kind": kind, "language": language},
        "contact": {"name": "", "value": ""}, "invoices": [inv], "other_overdue": [],
        "total_due": Decimal("1500.00"), "currency": "EUR",
        "late_interest": Decimal("0.00") if kind == "consumer" else Decimal("4.99"),
        "indemnity": Decimal("0.00") if kind == "consumer" else Decimal("40.00"),
        "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR", "payment_link": "https://pay.example.com/C001",
        "collector": {"name": "Bob Martin", "phone": "", "email": "bob@abc-consulting.fr"},
        "reference": "C001 F2026-0042", "step": {"code": "formal-notice", "tone": "formal"}, "registered": True,
        "salutation": "Madame, Monsieur," if language == "fr" else "Dear Sir or Madam,",
        "addressee": "Madame, Monsieur" if language == "fr" else "Sir or Madam", "previous_contacts": [],
        "interest_periods": [] if kind == "consumer" else [
            {"number": "F2026-0042", "start": date(2026, 7, 1), "end": today, "days": 10, "rate": Decimal("12.15"),
             "amount": Decimal("4.99"), "estimated": False}],
    }
    ctx["claim"] = {"principal": ctx["total_due"], "interest": ctx["late_interest"], "indemnity": ctx["indemnity"],
                    "total": ctx["total_due"] + ctx["late_interest"] + ctx["indemnity"]}
    ctx["amount_to_pay"] = ctx["claim"]["total"]
    ctx.update(extra)
    return ctx


def pdf_of(ctx: dict, **kwargs) -> bytes:
    qr = epc_svg_data_uri(ctx["org"]["legal_name"], ctx["iban"], ctx["bic"], ctx["amount_to_pay"], ctx["reference"])
    options = {"subject": "Mise en demeure de payer", "formal": True, "qr": qr}
    options.update(kwargs)
    return render_pdf(letter_html(ctx, **options))


def text_of(pdf: bytes) -> str:
    """All pages' text on one line: justification and line breaks do not matter to the checks."""
    raw = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", raw)


def positions(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, x from the left edge in mm, baseline from the top edge in mm) of page 1's text runs."""
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            found.append((text.strip(), x / MM, A4_HEIGHT_MM - y / MM))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return found


def test_the_recipient_address_shows_through_the_window_of_a_dl_envelope():
    runs = positions(pdf_of(context()))
    block = [(t, x, y) for t, x, y in runs if t in ("Dupont SARL", "3 rue Lafayette", "75009 Paris")]
    assert [t for t, _, _ in block] == ["Dupont SARL", "3 rue Lafayette", "75009 Paris"]
    for _, x, y in block:
        assert WINDOW["left"] - 0.5 <= x <= WINDOW["left"] + 5
        assert WINDOW["top"] < y < WINDOW["top"] + WINDOW["height"]
    # The letterhead stays out of the window (top left), the date and subject below it.
    assert all(x < 95 for t, x, _ in runs if t == "ABC Consulting")
    date_line = next(y for t, _, y in runs if t.startswith("À Lyon"))
    assert date_line > WINDOW["top"] + WINDOW["height"]


def test_a_formal_notice_states_the_invoices_the_deadline_the_penalties_and_the_indemnity():
    text = text_of(pdf_of(context()))
    assert "LETTRE RECOMMANDÉE AVEC AVIS DE RÉCEPTION" in text
    assert "À Lyon, le 10 juillet 2026" in text
    assert "Objet : Mise en demeure de payer" in text
    assert "F2026-0042 31/05/2026 30/06/2026 10 1 500,00 € 1 500,00 €" in text
    assert "la somme de 1 544,99 € au plus tard le 18 juillet 2026" in text
    assert "Facture F2026-0042, du 01/07/2026 au 10/07/2026, 10 jours au taux de 12,15 % : 4,99 €" in text
    assert "40 € par facture (art. D441-5)" in text
    assert "Total réclamé 1 544,99 €" in text
    assert "Montant à régler : 1 544,99 €" in text
    assert "IBAN FR14 2004 1010 0505 0001 3M02 606" in text
    assert "« C001 F2026-0042 »" in text
    assert "injonction de payer" in text
    assert "Bob Martin" in text


def test_a_consumer_notice_claims_legal_interest_from_the_notice_and_no_indemnity():
    text = text_of(pdf_of(context(kind="consumer")))
    assert "article 1231-6 du Code civil" in text
    assert "à compter de la présente mise en demeure" in text
    assert "Indemnité forfaitaire" not in text
    assert "Total réclamé" not in text


def test_the_wording_of_the_message_template_replaces_the_built_in_text():
    body = "Madame, Monsieur,\n\nLes factures suivantes :\n- facture n° F2026-0042\n\nCordialement,\nBob Martin"
    text = text_of(pdf_of(context(), body_text=body))
    assert "Les factures suivantes :" in text
    assert "Détail de la créance" in text
    assert "Malgré nos relances" not in text


def test_an_english_letter_is_dated_and_labelled_in_english():
    text = text_of(pdf_of(context(language="en"), subject="Formal notice to pay"))
    assert "Lyon, 10 July 2026" in text
    assert "Subject: Formal notice to pay" in text
    assert "€1,500.00" in text


def test_the_qr_code_carries_the_epc_payload_of_the_amount_due():
    ctx = context()
    html = letter_html(ctx, subject="x", formal=True,
                       qr=epc_svg_data_uri("ABC Consulting", ctx["iban"], ctx["bic"], Decimal("1500.00"),
                                           "C001 F2026-0042"))
    payload = epc_payload("ABC Consulting", ctx["iban"], ctx["bic"], Decimal("1500.00"), "C001 F2026-0042")
    assert payload.split("\n")[7] == "EUR1500"
    expected = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False).svg_data_uri(scale=4, border=4)
    assert expected in html


def test_names_with_markup_or_quotes_are_printed_not_interpreted():
    ctx = context()
    ctx["org"]["legal_name"] = 'ABC "Conseil" </style><b>'
    ctx["customer"]["name"] = "<script>x</script> & Fils"
    html = letter_html(ctx, subject="x", formal=False, recipient_lines=["<script>x</script> & Fils", "75009 Paris"])
    assert "<script>" not in html
    text = text_of(render_pdf(html))
    assert "<script>x</script> & Fils" in text
    assert 'ABC "Conseil" </style><b>' in text


def test_a_logo_is_inlined_in_the_letterhead(tmp_path):
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    logo = tmp_path / "logo.png"
    logo.write_bytes(png)
    from relance.channels.letter.layout import logo_data_uri

    uri = logo_data_uri(logo)
    assert uri.startswith("data:image/png;base64,")
    assert uri in letter_html(context(), subject="x", logo=uri)
    assert logo_data_uri(tmp_path / "missing.png") == ""


def test_plain_text_becomes_paragraphs_and_lists():
    blocks = body_blocks("Bonjour,\n\nLes factures :\n- F1\n- F2\n\nMerci.\nBob")
    assert blocks == [
        {"items": [], "lines": ["Bonjour,"]},
        {"items": [], "lines": ["Les factures :"]},
        {"items": ["F1", "F2"], "lines": []},
        {"items": [], "lines": ["Merci.", "Bob"]},
    ]


@pytest.mark.parametrize("count", [1, 25])
def test_long_lists_of_invoices_flow_onto_more_pages_with_page_numbers(count):
    ctx = context()
    ctx["invoices"] = [{**ctx["invoices"][0], "number": f"F{i:04d}"} for i in range(count)]
    pdf = pdf_of(ctx)
    reader = PdfReader(io.BytesIO(pdf))
    text = text_of(pdf)
    assert f"1 / {len(reader.pages)}" in text
    assert all(f"F{i:04d}" in text for i in range(count))


def runs_of_every_page(pdf: bytes) -> list[tuple[int, str, float]]:
    """(page, text, x from the left edge in mm) of every text run."""
    found = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):
        def visit(text, cm, tm, font, size, number=number):
            if text.strip():
                found.append((number, text.strip(), (cm[0] * tm[4] + cm[2] * tm[5] + cm[4]) / MM))
        page.extract_text(visitor_text=visit)
    return found


LONG = {
    "link": {"payment_link": "https://pay.example.com/checkout?reference=C001-F2026-0042&token=" + "a1b2c3" * 40},
    "names": {"org": {**context()["org"], "legal_name": "Société coopérative ouvrière de production des travaux "
                      "publics et du bâtiment de la région Auvergne-Rhône-Alpes " * 2},
              "customer": {**context()["customer"], "name": "Établissements Maçonnerie Royer et Fils associés "
                           "entreprise générale de bâtiment SARL " * 2,
                           "address_lines": ["Zone industrielle des Grandes Terres, bâtiment C, escalier 4, "
                                             "porte 12, boîte aux lettres 1234567890 " * 2, "75009 Paris"]}},
    "invoices": {"invoices": [{**context()["invoices"][0], "number": f"F2026-PROJET-CHANTIER-{i:04d}"}
                              for i in range(30)]},
}


@pytest.mark.parametrize("case", [*LONG, "all"])
def test_every_element_stays_inside_the_printable_area_whatever_the_content(case):
    extra = {k: v for c in LONG.values() for k, v in c.items()} if case == "all" else LONG[case]
    runs = runs_of_every_page(pdf_of(context(**extra)))
    right_edge = 210 - 18  # the page's right margin (letter.css @page)
    assert all(0 <= x < right_edge for _, _, x in runs)
    # The QR code's caption sits under the 28 mm code, in its 30 mm column, at the right of the box.
    caption = [x for _, text, x in runs if text.startswith("Scannez")]
    assert caption and all(x + 28 <= right_edge for x in caption)
