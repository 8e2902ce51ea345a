"""The letter channel: a PDF for a window envelope, simple or registered (formal notice)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext as _

from relance.channels.base import Attachment, Backend, Channel, DeliveryError, Outgoing, edited_text
from relance.channels.letter import layout
from relance.channels.registry import backend_url, get_backend
from relance.lib.addresses import block_lines, is_complete_address, is_complete_block

if TYPE_CHECKING:
    from relance.dunning.models import Reminder
    from relance.ledger.models import Contact, Customer

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")



def default_subject(formal: bool, language: str) -> str:
    """The subject of a letter whose template has none."""
    with translation.override(language):
        return _("Formal notice to pay") if formal else _("Reminder: unpaid invoice(s)")


def is_formal(reminder: Reminder) -> bool:
    return reminder.tone == "formal" or reminder.template == "formal_notice"


def postal_lines(customer: Customer) -> list[str]:
    """The address block: the customer's name then its address; [] when the address is unusable."""
    if not is_complete_address(customer.address_line1, customer.postcode, customer.city):
        return []
    lines = customer.address_lines
    country = (customer.country or "FR").upper()
    tail = [] if country == "FR" else [_country_name(country)]
    return [customer.name, *lines, *tail]


def postal_contact(customer: Customer) -> Contact | None:
    """The customer's first valid postal contact with a complete address (the planner's rule too)."""
    saved = customer.contacts.filter(kind="postal", valid=True).order_by("id")
    return next((c for c in saved if is_complete_block(c.value)), None)


def address_block(customer: Customer) -> list[str]:
    """The customer's postal contact when it has one (e.g. its accounts department), else its address."""
    saved = postal_contact(customer)
    if saved is not None:
        return [saved.name or customer.name, *block_lines(saved.value)]
    return postal_lines(customer)


def _country_name(code: str) -> str:
    from babel import Locale

    # La Poste: the destination country last, in capitals (in French, the sending country's language).
    return Locale.parse("fr").territories.get(code, code).upper()


def _letter_text(reminder: Reminder, context: dict) -> tuple[str, str]:
    """Subject and body from the organisation's (or the shipped) template, ("", "") when there is none."""
    from relance.channels import templates

    edited = edited_text(reminder)
    if edited is not None:
        return edited
    try:
        subject = templates.render(reminder.template, reminder.language, context, "subject", reminder.organisation)
        body = templates.render(reminder.template, reminder.language, context, "text", reminder.organisation)
    except templates.TemplateNotFound:
        return "", ""
    return subject, body


def _qr(context: dict) -> str:
    from relance.lib.qr import EpcError, epc_svg_data_uri

    if (context.get("currency") or "EUR") != "EUR":
        return ""
    try:
        # The amount the payment box prints (for a formal notice, the total claimed).
        return epc_svg_data_uri(context["org"]["legal_name"], context.get("iban") or "", context.get("bic") or "",
                                context.get("amount_to_pay", context.get("total_due")), context.get("reference") or "")
    except EpcError as exc:
        log.warning("letter without EPC QR code: %s", exc)
        return ""


def build_letter(reminder: Reminder, context: dict) -> tuple[Outgoing, str]:
    """The letter's Outgoing (PDF attached, HTML kept as body_html) and its HTML."""
    formal = is_formal(reminder)
    customer = reminder.customer
    lines = address_block(customer)
    if not lines:
        raise DeliveryError(f"{customer.name} : adresse postale incomplète (rue, code postal, ville)", unreachable=True)
    subject, body = _letter_text(reminder, context)
    language = reminder.language if reminder.language in ("fr", "en") else "fr"
    subject = subject or default_subject(formal, language)
    org = reminder.organisation
    html = layout.letter_html(
        {**context, "registered": reminder.registered}, subject=subject, body_text=body, formal=formal,
        recipient_lines=lines, logo=layout.logo_data_uri(org.logo.path if org.logo else None), qr=_qr(context),
    )
    pdf = layout.render_pdf(html)
    stem = _SAFE.sub("-", f"{reminder.run_date:%Y%m%d}-{customer.external_id}-{reminder.pk or 'draft'}")
    message = Outgoing(
        channel="letter", recipient="\n".join(lines), subject=subject, body_text=body, body_html=html,
        attachments=[Attachment(f"{stem}.pdf", pdf)],
        headers={"X-Registered": "1" if reminder.registered else "0"},
    )
    return message, html


class LetterChannel(Channel):
    kind = "letter"
    needs_contact = "postal"

    def recipient(self, customer: Customer) -> Contact | None:
        """A postal Contact when the customer has one, else its own address (an unsaved Contact)."""
        from relance.ledger.models import Contact

        saved = postal_contact(customer)
        if saved is not None:
            return saved
        lines = postal_lines(customer)
        if not lines:
            return None
        return Contact(customer=customer, kind="postal", value="\n".join(lines[1:]), name=customer.name)

    def render(self, reminder: Reminder, context: dict) -> Outgoing:
        return build_letter(reminder, context)[0]

    def backend(self, reminder: Reminder) -> Backend:
        return get_backend("letter", backend_url("letter"))
