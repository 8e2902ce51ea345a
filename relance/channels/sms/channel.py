"""The SMS channel: a short text to the customer's mobile, within quiet hours and a cost cap."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from relance.channels import templates
from relance.channels.base import Backend, Channel, DeliveryError, Outgoing, edited_text
from relance.channels.registry import backend_url, get_backend
from relance.channels.salutation import salutation
from relance.channels.sms.quiet_hours import deferred_until, recipient_rules
from relance.channels.sms.segments import SmsTooLong, count, fit, gsm7_name
from relance.lib import phones

if TYPE_CHECKING:
    from relance.dunning.models import Reminder
    from relance.ledger.models import Contact, Customer

DEFAULT_MAX_SEGMENTS = 3
ROLE_ORDER = {"billing": 0, "accounting": 1, "main": 2}

# Used when the organisation and the shipped templates have no "sms_reminder" (the seeds' SMS).
FALLBACK = {
    "fr": "Bonjour{name}, relance facture {numbers} de {amount}. Avez-vous une date de règlement à me "
          "confirmer ? Paiement : {link}. Merci. {org}",
    "en": "Hello{name}, reminder for invoice {numbers} of {amount}. Could you confirm a payment date? "
          "Pay here: {link}. Thank you. {org}",
}


class InvalidPhoneNumber(ValueError):
    pass


def normalise_number(value: str, region: str = "FR") -> str:
    """The number in E.164 (+33612345678); national numbers are read in `region`."""
    e164 = phones.normalise(value, region)
    if e164 is None:
        raise InvalidPhoneNumber(f"numéro de téléphone invalide : {value!r}")
    return e164


def is_mobile(value: str, region: str = "FR") -> bool:
    """The planner's rule too (relance.lib.phones): one answer to "can an SMS reach this number"."""
    return phones.is_mobile(value, region)


def max_segments() -> int:
    return int(getattr(settings, "SMS_MAX_SEGMENTS", DEFAULT_MAX_SEGMENTS) or DEFAULT_MAX_SEGMENTS)


def _fallback_text(context: dict, language: str) -> str:
    numbers = ", ".join(line["number"] for line in context.get("invoices", []))
    name = (context.get("contact") or {}).get("name") or ""
    return FALLBACK.get(language, FALLBACK["fr"]).format(
        name=f" {name}" if name else "", numbers=numbers,
        amount=templates.format_money(context.get("total_due"), context.get("currency") or "EUR", language),
        link=context.get("payment_link") or context.get("portal_link") or "", org=context["org"]["legal_name"],
    )


def sms_context(context: dict) -> dict:
    """The context with the contact's name spelt in GSM-7 (or left out): one foreign letter in a name
    would turn the whole SMS into UCS-2, 70 characters a part instead of 160."""
    contact = context.get("contact") or {}
    changed = {}
    if contact.get("name"):
        changed["contact"] = {**contact, "name": gsm7_name(contact["name"])}
    if context.get("salutation"):
        # "Bonjour Łukasz," -> "Bonjour Lukasz,"; a greeting that cannot be spelt loses its name.
        changed["salutation"] = gsm7_name(context["salutation"]) or salutation("", "", context.get("language", "fr"))
    return {**context, **changed} if changed else context


def sms_text(reminder: Reminder, context: dict) -> str:
    """The organisation's (or the shipped) template for the step, else the seeds' SMS."""
    edited = edited_text(reminder)
    if edited is not None:
        return " ".join(edited[1].split())
    context = sms_context(context)
    try:
        text = templates.render(reminder.template, reminder.language, context, "text", reminder.organisation)
    except templates.TemplateNotFound:
        text = ""
    return " ".join(text.split()) or _fallback_text(context, reminder.language)


class SmsChannel(Channel):
    kind = "sms"
    needs_contact = "phone"

    def recipient(self, customer: Customer) -> Contact | None:
        """The customer's first valid mobile number (billing, then accounting, then main contact)."""
        phones = [c for c in customer.contacts.filter(kind="phone", valid=True).order_by("id")
                  if is_mobile(c.value, customer.country)]
        phones.sort(key=lambda c: ROLE_ORDER.get(c.role, 9))
        return phones[0] if phones else None

    def number(self, reminder: Reminder) -> str:
        customer = reminder.customer
        value = reminder.recipient
        if not value:
            contact = self.recipient(customer)
            value = contact.value if contact else ""
        if not value:
            raise DeliveryError(f"{customer.name} : aucun numéro de mobile valide", unreachable=True)
        try:
            return normalise_number(value, customer.country)
        except InvalidPhoneNumber as exc:
            raise DeliveryError(str(exc), unreachable=True)

    def render(self, reminder: Reminder, context: dict) -> Outgoing:
        """The SMS to send: E.164 number, text within SMS_MAX_SEGMENTS (else the next channel carries it)."""
        try:
            text = fit(sms_text(reminder, context), max_segments())
        except SmsTooLong as exc:
            # Not this customer's fault, but SMS cannot carry it: the next channel does.
            raise DeliveryError(str(exc), unreachable=True)
        info = count(text)
        return Outgoing(
            channel=self.kind, recipient=self.number(reminder), body_text=text,
            headers={"X-SMS-Encoding": info.encoding, "X-SMS-Segments": str(info.segments)},
        )

    def backend(self, reminder: Reminder) -> Backend:
        return get_backend("sms", backend_url("sms", reminder.organisation.sms_url))

    def not_before(self, reminder: Reminder, now: datetime) -> datetime:
        """The first moment the SMS may be sent: now, or after the quiet hours, the Sunday or the
        public holiday of the place the number rings in (see quiet_hours.recipient_rules)."""
        customer = reminder.customer
        number = reminder.recipient
        if not number:
            contact = self.recipient(customer)
            number = contact.value if contact else ""
        rules = recipient_rules(number, customer.country, customer.postcode, reminder.organisation.time_zone)
        return deferred_until(now, rules.tz, rules.country, rules.subdiv)
