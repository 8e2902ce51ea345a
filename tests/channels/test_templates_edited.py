"""Organisations' edited templates: refused at save time with their lines, used instead of the shipped ones."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from relance.channels import templates as t
from relance.channels.context import sample_context
from relance.channels.models import MessageTemplate


def test_a_template_with_a_syntax_error_is_refused_with_its_line(org):
    with pytest.raises(ValidationError) as caught:
        MessageTemplate.objects.create(
            organisation=org, code="first_reminder", language="fr", subject="Relance {{ customer.name }}",
            body_text="Bonjour,\n\n{% for inv in invoices %}\n{{ inv.number }}\n",
        )
    assert caught.value.message_dict == {"body_text": ["ligne 4 : erreur de syntaxe : Unexpected end of template. "
                                                       "Jinja was looking for the following tags: 'endfor' or 'else'. "
                                                       "The innermost block that needs to be closed is 'for'."]}
    assert not MessageTemplate.objects.exists()


def test_an_unknown_variable_is_refused_in_every_part_with_its_line(org):
    template = MessageTemplate(
        organisation=org, code="first_reminder", language="fr", subject="Relance {{ client.name }}",
        body_text="Bonjour,\n{{ total_due|money }}\n", body_html="<p>\n{{ total_du }}</p>",
    )
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert caught.value.message_dict == {
        "subject": ["ligne 1 : variable inconnue « client »"],
        "body_html": ["ligne 2 : variable inconnue « total_du »"],
    }


def test_an_email_template_needs_a_subject(org):
    with pytest.raises(ValidationError, match="objet"):
        MessageTemplate.objects.create(organisation=org, code="x", body_text="Bonjour")


def test_the_edited_template_replaces_the_shipped_one_for_its_organisation_only(org, other_org):
    MessageTemplate.objects.create(
        organisation=org, code="first_reminder", language="fr", subject="Facture {{ invoices[0].number }}",
        body_text="Bonjour {{ contact.name }}, merci de régler {{ total_due|money }}.",
    )
    context = sample_context("fr")
    edited = t.render_message("first_reminder", "fr", context, org)
    assert edited.subject == "Facture F2026-0042"
    assert edited.text == "Bonjour Marie Dupont, merci de régler 1 500,00 €.\n"
    assert edited.html == ""  # the organisation wrote no HTML: text only
    shipped = t.render_message("first_reminder", "fr", context, other_org)
    assert shipped.subject == "Suivi facture F2026-0042 – 1 500,00 € dû"
    assert "Sauf erreur de notre part" in shipped.text
    assert t.render("first_reminder", "en", context, "subject", org).startswith("Invoice F2026-0042")


def test_a_preview_renders_a_template_for_a_chosen_customer(org, customer, make_invoice, bob):
    customer.collector = bob
    customer.save()
    make_invoice(total="1500.00", number="F-77")
    make_invoice(total="80.00", number="F-78")
    preview = t.preview(org, customer, "firm_reminder", "fr")
    assert "F-77" in preview.text and "F-78" in preview.text
    assert "Total dû : 1 580,00 €" in preview.text
    assert preview.subject.startswith("Relance – 2 factures impayées")
    assert "bob" in preview.text
