"""Message templates: Babel formatting, the sandbox, validation with line numbers, shipped defaults."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relance.channels import templates as t
from relance.channels.context import sample_context


def test_money_is_written_the_french_way_in_french():
    assert t.format_money(Decimal("1500"), "EUR", "fr") == "1 500,00 €"
    assert t.format_money(Decimal("-12.5"), "EUR", "fr") == "-12,50 €"


def test_money_is_written_the_english_way_in_english():
    assert t.format_money(Decimal("1500"), "EUR", "en") == "€1,500.00"


def test_money_never_wraps_in_html():
    assert t.format_money(Decimal("1500"), "EUR", "fr", html=True) == "1\u00a0500,00\u00a0€"


def test_dates_follow_the_language():
    day = date(2026, 6, 30)
    assert t.format_day(day, "fr") == "30/06/2026"
    assert t.format_day(day, "en") == "30 Jun 2026"
    assert t.format_day(day, "fr", "long") == "30 juin 2026"


def test_days_agree_in_number():
    assert [t.format_days(n, "fr") for n in (0, 1, 12)] == ["0 jour", "1 jour", "12 jours"]
    assert [t.format_days(n, "en") for n in (1, 12)] == ["1 day", "12 days"]


def test_percent_and_iban_are_printed_as_people_read_them():
    assert t.format_percent(Decimal("12.15"), "fr") == "12,15 %"
    assert t.format_percent(Decimal("12.15"), "en") == "12.15%"
    assert t.format_iban("fr1420041010050500013m02606") == "FR14 2004 1010 0505 0001 3M02 606"


def test_the_filters_use_the_language_of_the_context():
    source = "{{ total_due|money }} le {{ oldest_due_date|date }}, {{ invoices[0].days_late|days }}"
    assert t.render_source(source, sample_context("fr")) == "1 500,00 € le 30/06/2026, 10 jours\n"
    assert t.render_source(source, sample_context("en")) == "€1,500.00 le 30 Jun 2026, 10 days\n"


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("code", [
    "friendly_reminder", "first_reminder", "firm_reminder", "call_recap", "sms_reminder", "broken_promise",
    "payment_plan_confirmation", "payment_thanks", "formal_notice", "statement", "call_script",
])
def test_every_shipped_template_is_valid_and_renders(code, language):
    parts = {part: t.shipped_source(code, language, part) for part in t.PARTS}
    assert parts["text"], f"{language}/{code} has no text part"
    for part, source in parts.items():
        if source is not None:
            assert t.validate_template(source, part, language) == []
    message = t.render_message(code, language, sample_context(language))
    assert "F2026-0042" in message.text
    assert "{{" not in message.text and "{%" not in message.html


def test_the_reminders_carry_what_the_customer_needs_to_pay():
    for code in ("friendly_reminder", "first_reminder", "firm_reminder", "broken_promise"):
        text = t.render(code, "fr", sample_context("fr"), "text")
        assert "FR14 2004 1010 0505 0001 3M02 606" in text and "RF12FF20260042" in text
        assert "https://pay.example.com/C001" in text
        assert "ne pas tenir compte" in text
        assert "Bob Martin" in text


def test_the_formal_notice_announces_penalties_and_the_indemnity_to_businesses_only():
    business = t.render("formal_notice", "fr", sample_context("fr"), "text")
    assert "au plus tard le 18 juillet 2026" in business and "1 544,99 €" in business
    assert "40 € par facture (art. D441-5)" in business and "12,15 %" in business
    consumer = sample_context("fr")
    consumer["customer"]["kind"] = "consumer"
    text = t.render("formal_notice", "fr", consumer, "text")
    assert "40 €" not in text and "taux légal" in text


def test_a_subject_is_one_line():
    assert t.render_source("Relance\n{{ customer.name }}\n", sample_context(), "subject") == "Relance Dupont SARL"


def test_html_parts_escape_the_data():
    context = {**sample_context(), "customer": {**sample_context()["customer"], "name": "<script>x</script>"}}
    assert t.render_source("{{ customer.name }}", context, "html") == "&lt;script&gt;x&lt;/script&gt;\n"


def test_it_refuses_a_syntax_error_with_its_line():
    problems = t.validate_template("Bonjour,\n\n{% if total_due %}\n{{ total_due|money }}\n")
    assert len(problems) == 1
    assert problems[0].line == 4
    assert "syntaxe" in problems[0].message


def test_it_refuses_an_unknown_variable_even_in_a_branch_not_taken():
    source = "Bonjour,\n{% if false %}\n{{ montant_du }}\n{% endif %}\n"
    assert t.validate_template(source) == [t.TemplateProblem(3, "variable inconnue « montant_du »")]


def test_it_refuses_an_unknown_field_with_its_line():
    problems = t.validate_template("Bonjour {{ contact.name }},\n\n{{ customer.nmae }}\n")
    assert [(p.line, p.message) for p in problems] == [(3, "champ inconnu « customer.nmae »")]


def test_it_refuses_an_unknown_field_of_an_invoice_in_a_loop():
    source = "{% for inv in invoices %}\n- {{ inv.number }} {{ inv.amount }}\n{% endfor %}"
    assert [(p.line, p.message) for p in t.validate_template(source)] == [(2, "champ inconnu « inv.amount »")]


def test_it_reports_the_line_of_an_error_found_while_rendering():
    problems = t.validate_template("Bonjour,\n\n{{ invoices[0].number.upper().foo }}\n")
    assert problems and problems[0].line == 3


def test_the_sandbox_refuses_internals():
    problems = t.validate_template("Bonjour\n{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert [p.line for p in problems] == [2]
    assert problems[0].message.startswith("opération interdite")


def test_a_missing_template_is_named():
    with pytest.raises(t.TemplateNotFound, match="nope"):
        t.render("nope", "fr", sample_context(), "text")


def test_a_missing_part_renders_empty():
    assert t.render("sms_reminder", "fr", sample_context(), "html") == ""
