"""The e-mail channel: who receives it, what it says, what is attached.

A reminder e-mail is multipart (text and HTML, the EPC QR code inline), carries the PDFs of its
invoices when they are stored and a statement of account (PDF, WeasyPrint), replies go to the
collector, and its Message-ID is kept on the Reminder (bounces are matched with it).
Organisation preferences (read receipt, BCC copy, statement) are `OrganisationChannelSettings`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import date
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Case, IntegerField, Value, When
from django.utils import translation
from django.utils.html import linebreaks
from django.utils.translation import pgettext_lazy

from relance.channels.base import Attachment, Backend, Channel, DeliveryError, Outgoing, edited_text
from relance.channels.email.backends import single_address
from relance.channels.models import AttachStatement, get_channel_settings
from relance.channels.templates import RenderedMessage, TemplateNotFound, render_message

if TYPE_CHECKING:
    from relance.accounts.models import Organisation
    from relance.dunning.models import Reminder
    from relance.ledger.models import Contact, Customer, Invoice

QR_CID = "epc-qr"
# Who reads the dunning e-mails first: the billing contact, then accounting, then anyone.
ROLE_ORDER = Case(
    When(role="billing", then=Value(0)), When(role="accounting", then=Value(1)), default=Value(2),
    output_field=IntegerField(),
)
LANGUAGES = ("fr", "en")
# Attachment file names, per language (the French ones in the catalogue): ASCII, as some mail clients want.
_NAMES = {
    "invoice": pgettext_lazy("attachment", "Invoice-{}.pdf"),
    "statement": pgettext_lazy("attachment", "Statement-of-account-{}.pdf"),
    "qr": pgettext_lazy("attachment", "sepa-transfer.png"),
}


def attachment_name(kind: str, language: str, reference: str = "") -> str:
    with translation.override(language):
        return str(_NAMES[kind]).format(reference)


class EmailChannel(Channel):
    kind = "email"
    needs_contact = "email"

    def recipient(self, customer: Customer) -> Contact | None:
        return customer.contacts.filter(kind="email", valid=True).order_by(ROLE_ORDER, "id").first()

    def backend(self, reminder: Reminder) -> Backend:
        from relance.channels.registry import backend_url, get_backend

        return get_backend("email", backend_url("email", reminder.organisation.email_url))

    def render(self, reminder: Reminder, context: dict) -> Outgoing:
        org = reminder.organisation
        prefs = get_channel_settings(org)
        language = reminder.language if reminder.language in LANGUAGES else "fr"
        try:
            msg = render_message(reminder.template, language, context, org)
        except TemplateNotFound as exc:
            raise DeliveryError(str(exc), permanent=True)
        edited = edited_text(reminder)
        if edited is not None:  # a person's text replaces the template's; its HTML part is made from it
            msg = RenderedMessage(edited[0], edited[1], linebreaks(edited[1], autoescape=True))
        # Stored as sent ("Name <address>") after a first attempt: keep the address only.
        recipient = parseaddr(reminder.recipient)[1] if reminder.recipient else ""
        if not recipient:
            contact = self.recipient(reminder.customer)
            if contact is None:
                raise DeliveryError("aucune adresse e-mail valide pour ce client", unreachable=True)
            recipient = single_address(contact.value, bare=True)
        sender_addr = org.sender_email or settings.DEFAULT_FROM_EMAIL
        domain = sender_addr.rpartition("@")[2] or "localhost"
        collector = context.get("collector") or {}
        headers = {
            # Kept on retries: a receiving server may drop a duplicate with the same Message-ID.
            "Message-ID": reminder.message_id or new_message_id(reminder.pk, domain),
            "X-Relance-Reminder": str(reminder.pk),
        }
        reply_to = formataddr((collector.get("name", ""), collector["email"])) if collector.get("email") else ""
        if prefs.read_receipt:
            headers["Disposition-Notification-To"] = reply_to or sender_addr
        html, attachments = _inline_qr(msg.html, context, language, domain)
        attachments += invoice_attachments(reminder, language)
        if reminder.template == "statement" or _wants_statement(prefs.attach_statement, context):
            attachments.append(statement_attachment(org, reminder.customer, language, context.get("today")))
        return Outgoing(
            channel=self.kind, recipient=formataddr((context.get("contact", {}).get("name", ""), recipient)),
            subject=msg.subject, body_text=msg.text, body_html=html, attachments=attachments, headers=headers,
            sender=formataddr((prefs.sender_name or org.legal_name, sender_addr)), reply_to=reply_to,
            bcc=prefs.bcc(),
        )


def new_message_id(pk: int, domain: str) -> str:
    # Short enough to stay on one header line (a folded Message-ID reads back with a leading space).
    return f"<relance.{pk}.{secrets.token_hex(6)}@{domain}>"


def _inline_qr(html: str, context: dict, language: str, domain: str) -> tuple[str, list[Attachment]]:
    # Most mail clients block data: images; an inline part referenced by cid: is shown.
    uri = context.get("epc_qr_png_data_uri") or ""
    if not html or not uri or uri not in html:
        return html, []
    cid = f"{QR_CID}@{domain}"
    png = base64.b64decode(uri.partition(",")[2])
    qr = Attachment(attachment_name("qr", language), png, "image/png", content_id=cid)
    return html.replace(uri, f"cid:{cid}"), [qr]


def _wants_statement(mode: str, context: dict) -> bool:
    if mode == AttachStatement.ALWAYS:
        return True
    if mode == AttachStatement.NEVER:
        return False
    return len(context.get("invoices", [])) + len(context.get("other_overdue", [])) >= 2


def invoice_attachments(reminder: Reminder, language: str) -> list[Attachment]:
    """The stored PDF of each invoice still listed in the reminder."""
    out = []
    for line in reminder.lines.select_related("invoice").filter(dropped=False).order_by("invoice__due_date", "id"):
        invoice = line.invoice
        if invoice.document:
            out.append(Attachment(attachment_name("invoice", language, _safe(invoice.number)), _read(invoice)))
    return out


def _read(invoice: Invoice) -> bytes:
    try:
        with invoice.document.open("rb") as fh:
            return fh.read()
    except OSError as exc:
        # Sending without the invoice the text says is attached would mislead: retry later.
        raise DeliveryError(f"facture {invoice.number} : document illisible ({exc})")


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def statement_attachment(org: Organisation, customer: Customer, language: str, today: date | None) -> Attachment:
    pdf = render_statement_pdf(org, customer, language, today)
    return Attachment(attachment_name("statement", language, _safe(customer.external_id)), pdf)


def render_statement_pdf(org: Organisation, customer: Customer, language: str, today: date | None = None) -> bytes:
    """The customer's statement of account (every invoice with a balance) as an A4 PDF."""
    from weasyprint import HTML

    from relance.channels.context import build_customer_context
    from relance.ledger.models import Invoice, InvoiceStatus

    invoices = Invoice.objects.filter(
        customer=customer, open_balance__gt=0,
        status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID, InvoiceStatus.DISPUTED],
    ).order_by("due_date", "number")
    context = build_customer_context(org, customer, invoices, language, today=today, other_overdue=[])
    html = render_message("statement", language, context, org).html
    return HTML(string=html).write_pdf()
