"""The variables a message template sees (the documented context).

Every template (e-mail, SMS, letter, call script) is rendered with this dictionary; a template
using any other name is refused at save time (`relance.channels.templates.validate_template`).

    language            "fr" or "en"
    channel             "email", "sms", "letter" or "call": the channel this message goes by
    today               date of sending; deadline: today + the organisation's notice delay (8 days)
    deadline_days       that delay, in days
    org                 {legal_name, address_lines, siren, siret, vat_number, iban, bic, email, phone, city}
    customer            {name, external_id, address_lines, kind ("business"|"consumer"|"public"), language}
    contact             {name, value} the recipient (name may be empty)
    salutation          the opening line for this channel and language: "Madame Martin," on a letter,
                        "Bonjour Madame Martin," in an e-mail, "Madame, Monsieur," / "Bonjour," when the
                        customer's contact person (name and civility) is unknown
    addressee           the closing formula's form of address: "Madame", "Monsieur", "Madame, Monsieur"
    previous_contacts   dates of the reminders already sent to this customer (e-mail, SMS, letter) before
                        this one, oldest first; [] for a first message: never speak of earlier reminders then
    invoices            this message's invoices: [{number, issue_date, due_date, total, balance, days_late,
                        currency, has_document}]; days_late is negative before the due date
    overdue_invoices    those of `invoices` past their due date (days_late > 0); overdue_total their sum
    upcoming_invoices   those not yet due ("à échoir"); upcoming_total their sum
    documents_attached  True when at least one of these invoices' PDFs is attached
    other_overdue       the customer's other overdue invoices, same shape
    total_due           sum of the balances of `invoices`; grand_total adds `other_overdue`
    all_overdue_total   overdue_total plus `other_overdue`: everything past due
    oldest_due_date     earliest due date among `invoices` (None when empty)
    currency            "EUR" unless the invoices say otherwise
    late_interest       late-payment interest to date on the overdue invoices (relance.law)
    interest_periods    how it was computed: [{number, start, end, days, base, rate, amount, estimated}], one
                        row per invoice, half-year and open balance (interest runs on the balance of each day:
                        a payment or credit note lowers `base` from the day after its date)
    interest_terms      the terms of sale's rate when they set one for this customer: {percent, legal_multiple}
                        (one of them None; the law's 3x legal-rate floor applies), None when the law's rate does
    estimated_rates     periods ("YYYY-MM-DD/YYYY-MM-DD") whose rate is not in the tables yet (carried
                        forward): print such a rate as an estimate, never as fact
    penalty_rate        the yearly late-payment rate in percent that applies today, the contract's when
                        `interest_terms` set one (filter `percent`)
    indemnity           fixed recovery indemnity, 40 EUR per overdue invoice (not for consumers)
    claim               {principal, interest, indemnity, total} what a formal notice claims (the overdue
                        invoices, interest to date, indemnity)
    amount_to_pay       what the payment box and the QR code ask for: claim.total for a formal notice,
                        total_due otherwise
    iban, bic           the organisation's bank account
    epc_qr_png_data_uri EPC (SEPA credit transfer) QR code of amount_to_pay as a data: URI ("" without IBAN)
    epc_payload         the text that QR code carries ("" without it)
    payment_link        the organisation's online payment link, "" when it has none
    portal_url          the customer's own page (RELANCE_BASE_URL/p/<signed token>/, valid 90 days): open
                        invoices and their PDFs, how to pay, and the answers "already paid", "I dispute",
                        "I would like a payment plan" (relance.portal)
    collector           {name, phone, email} the customer's collector, else the organisation
    reference           what to quote on the transfer: the structured creditor reference (ISO 11649, RF…,
                        relance.ledger.references) of the one invoice, or of the customer for several, which
                        the EPC QR code carries and payment matching reads back; else customer code and numbers
    step                {code, tone ("friendly"|"firm"|"formal")}
    registered          True for a registered letter
    promise             {date, amount, state} the latest promise to pay on these invoices, or None
    plan                {instalments: [{position, due_date, amount}], total} the active payment plan, or None
    payment             {date, amount, reference} the customer's latest payment, or None
    call                {date, outcome, promised_date, promised_amount, note} the latest call outcome, or None

Amounts are Decimal and dates are date: format them with the `money`, `date` and `days` filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from email.utils import parseaddr
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils import timezone

from relance.channels.qr_email import epc_qr_png_data_uri
from relance.channels.salutation import addressee, salutation
from relance.dunning.queries import org_today
from relance.law.late_payment import ContractRate, fixed_indemnity, penalty_rate
from relance.ledger.references import creditor_reference, customer_creditor_reference
from relance.lib.money import ZERO, cents
from relance.lib.qr import EpcError, epc_payload

if TYPE_CHECKING:
    from relance.accounts.models import Organisation
    from relance.dunning.models import Reminder
    from relance.ledger.models import Customer, Invoice

REFERENCE_MAX = 140  # the EPC remittance text holds 140 characters
# The channels whose reminders reach the customer (a call reminder is the collector's script).
CONTACT_CHANNELS = ("email", "sms", "letter")


# --- pieces -----------------------------------------------------------------------------------


def invoice_line(invoice: Invoice, today: date) -> dict:
    return {
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "total": invoice.total,
        "balance": invoice.open_balance,
        "days_late": (today - invoice.due_date).days,
        "currency": invoice.currency,
        "has_document": bool(invoice.document),
    }


def org_dict(org: Organisation) -> dict:
    return {
        "legal_name": org.legal_name, "address_lines": org.address_lines, "siren": org.siren,
        "siret": org.siret, "vat_number": org.vat_number, "iban": org.iban, "bic": org.bic,
        "email": org.sender_email, "phone": org.phone, "city": org.city,
    }


def customer_dict(customer: Customer) -> dict:
    return {
        "name": customer.name, "external_id": customer.external_id, "address_lines": customer.address_lines,
        "kind": customer.kind, "language": customer.language,
    }


def collector_dict(org: Organisation, customer: Customer) -> dict:
    user = customer.collector
    if user is None:
        return {"name": org.legal_name, "phone": org.phone, "email": org.sender_email}
    name = user.get_full_name() or user.get_username()
    return {"name": name, "phone": org.phone, "email": user.email or org.sender_email}


def payment_reference(customer: Customer, invoices: list) -> str:
    """What a message asks the customer to quote: the RF reference of its invoice (of the customer for
    several), else the customer code and invoice numbers (a number too long for an RF reference)."""
    rf = creditor_reference(invoices[0]) if len(invoices) == 1 else customer_creditor_reference(customer)
    return rf or transfer_reference(customer, [invoice.number for invoice in invoices])


def transfer_reference(customer: Customer, numbers: list[str]) -> str:
    ref = " ".join([customer.external_id, *numbers])
    return ref if len(ref) <= REFERENCE_MAX else ref[: REFERENCE_MAX - 1].rstrip() + "…"


def list_open_invoices(customer: Customer) -> list[Invoice]:
    """The customer's invoices still to pay (disputed ones are not asked for)."""
    from relance.ledger.models import Invoice, InvoiceStatus

    return list(
        Invoice.objects.filter(
            customer=customer, open_balance__gt=0, status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID]
        ).order_by("due_date", "number")
    )


def list_previous_contacts(customer: Customer, today: date, exclude_id: int | None = None) -> list[date]:
    """Dates of the reminders sent to the customer up to `today` (e-mail, SMS, letter), oldest first."""
    from relance.dunning.models import Reminder, ReminderState

    sent = Reminder.objects.filter(customer=customer, state=ReminderState.SENT, channel__in=CONTACT_CHANNELS,
                                   sent_at__isnull=False)
    if exclude_id is not None:
        sent = sent.exclude(pk=exclude_id)
    zone = ZoneInfo(customer.organisation.time_zone)
    days = sorted(timezone.localtime(at, zone).date() for at in sent.values_list("sent_at", flat=True))
    return [day for day in days if day <= today]


def interest_detail(invoices: list[Invoice], today: date) -> tuple[Decimal, list[dict]]:
    """Interest to date on the overdue invoices, and its periods (invoice, half-year, open balance)."""
    # Imported here: the ledger read module needs the models, and this module is imported before the apps load.
    from relance.dunning.interest import get_invoice_claim
    from relance.ledger.interest import prefetch_for_claims

    prefetch_for_claims(invoices)
    total = ZERO
    periods = []
    for invoice in invoices:
        detail = get_invoice_claim(invoice, today).interest
        total += detail.amount
        periods += [{"number": invoice.number, "start": p.start, "end": p.end, "days": p.days, "base": p.base,
                     "rate": p.rate, "amount": p.amount, "estimated": p.estimated} for p in detail.periods]
    return cents(total), periods


def contract_rate(customer: Customer) -> ContractRate | None:
    """The terms-of-sale rate that applies to this customer (businesses only), None for the law's."""
    from relance.ledger.interest import get_contract_rate  # as in interest_detail

    return get_contract_rate(customer) if customer.kind == "business" else None


def terms_dict(rate: ContractRate | None, language: str) -> dict | None:
    """`interest_terms`: the percent as a Decimal, the multiple as written ("3", "2,5" in French)."""
    if rate is None:
        return None
    multiple = None
    if rate.legal_multiple is not None:
        multiple = format(rate.legal_multiple.quantize(Decimal("0.001")).normalize(), "f")
        multiple = multiple.replace(".", ",") if language == "fr" else multiple
    return {"percent": rate.percent, "legal_multiple": multiple}


def _epc(org: Organisation, amount: Decimal, reference: str, currency: str) -> tuple[str, str]:
    """The EPC QR code (PNG data: URI) and the payload it carries, ("", "") when there is none."""
    uri = epc_qr_png_data_uri(org.legal_name, org.iban, org.bic, amount, reference) if currency == "EUR" else ""
    if not uri:
        return "", ""
    try:
        return uri, epc_payload(org.legal_name, org.iban, org.bic, amount, reference)
    except EpcError:
        return "", ""


# --- the context ------------------------------------------------------------------------------


def build_customer_context(
    org: Organisation,
    customer: Customer,
    invoices: Iterable[Invoice],
    language: str,
    *,
    contact: dict | None = None,
    step: dict | None = None,
    today: date | None = None,
    other_overdue: Iterable[Invoice] | None = None,
    registered: bool = False,
    channel: str = "email",
    previous_contacts: list[date] | None = None,
    extra: dict | None = None,
    reminder_id: int | None = None,
) -> dict:
    """The documented context for a customer and a list of invoices (previews, statements, letters)."""
    from relance.channels.models import get_channel_settings
    from relance.portal.tokens import portal_url

    today = today or org_today(org)
    prefs = get_channel_settings(org)
    invoices = list(invoices)
    listed = {inv.pk for inv in invoices}
    if other_overdue is None:
        other_overdue = [i for i in list_open_invoices(customer) if i.pk not in listed and i.due_date < today]
    if previous_contacts is None:
        previous_contacts = list_previous_contacts(customer, today)
    step = step or {"code": "", "tone": "friendly"}
    lines = [invoice_line(i, today) for i in invoices]
    overdue = [line for line in lines if line["days_late"] > 0]
    upcoming = [line for line in lines if line["days_late"] <= 0]
    others = [invoice_line(i, today) for i in other_overdue if i.pk not in listed]
    total_due = sum((line["balance"] for line in lines), ZERO)
    overdue_total = sum((line["balance"] for line in overdue), ZERO)
    others_total = sum((o["balance"] for o in others), ZERO)
    currency = lines[0]["currency"] if lines else org.currency
    terms = contract_rate(customer)
    overdue_numbers = {line["number"] for line in overdue}
    interest, periods = interest_detail([i for i in invoices if i.number in overdue_numbers], today)
    indemnity = cents(fixed_indemnity(customer.kind, len(overdue)))
    claim = {"principal": overdue_total, "interest": interest, "indemnity": indemnity,
             "total": overdue_total + interest + indemnity}
    amount_to_pay = claim["total"] if step.get("tone") == "formal" else total_due
    reference = payment_reference(customer, invoices)
    qr, payload = _epc(org, amount_to_pay, reference, currency)
    if contact is None:
        first = customer.contacts.filter(valid=True, kind="email").order_by("id").first()
        contact = {"name": first.name if first else "", "value": first.value if first else ""}
    civility, person = customer.contact_civility, customer.contact_name
    context = {
        "language": language,
        "channel": channel,
        "today": today,
        "deadline_days": prefs.notice_days,
        "deadline": today + timedelta(days=prefs.notice_days),
        "org": org_dict(org),
        "customer": customer_dict(customer),
        "contact": contact,
        "salutation": salutation(civility, person, language, letter=channel == "letter",
                                 recipient=contact.get("name") or ""),
        "addressee": addressee(civility, language),
        "previous_contacts": previous_contacts,
        "invoices": lines,
        "overdue_invoices": overdue,
        "upcoming_invoices": upcoming,
        "overdue_total": overdue_total,
        "upcoming_total": total_due - overdue_total,
        "documents_attached": any(line["has_document"] for line in lines),
        "other_overdue": others,
        "total_due": total_due,
        "grand_total": total_due + others_total,
        "all_overdue_total": overdue_total + others_total,
        "oldest_due_date": min((line["due_date"] for line in lines), default=None),
        "currency": currency,
        "late_interest": interest,
        "interest_periods": periods,
        "interest_terms": terms_dict(terms, language),
        "estimated_rates": sorted({f"{p['start']}/{p['end']}" for p in periods if p["estimated"]}),
        "indemnity": indemnity,
        "penalty_rate": penalty_rate(today, customer.kind, contract_rate=terms),
        "claim": claim,
        "amount_to_pay": amount_to_pay,
        "iban": org.iban,
        "bic": org.bic,
        "epc_qr_png_data_uri": qr,
        "epc_payload": payload,
        "payment_link": prefs.payment_link(reference=reference, amount=amount_to_pay, customer=customer),
        "portal_url": portal_url(org.pk, customer.pk, reminder_id) if customer.pk else "",
        "collector": collector_dict(org, customer),
        "reference": reference,
        "step": step,
        "registered": registered,
        "promise": None,
        "plan": None,
        "payment": None,
        "call": None,
    }
    context.update(_history(customer, invoices))
    context.update(extra or {})
    return context


def build_context(reminder: Reminder, today: date | None = None, extra: dict | None = None) -> dict:
    """The context of a reminder: its invoices still listed (not dropped), at today's balances."""
    org = reminder.organisation
    customer = reminder.customer
    today = today or org_today(org)
    lines = [ln for ln in reminder.lines.select_related("invoice").order_by("invoice__due_date", "id")
             if not ln.dropped]
    invoices = [ln.invoice for ln in lines]
    contact = _contact(reminder)
    # The planner chose which other overdue invoices to show (none is an answer too), and delivery
    # re-checked them with the same rule; those paid since are left out.
    from relance.ledger.models import Invoice

    other_ids = reminder.other_invoice_ids or []
    others = list(Invoice.objects.filter(pk__in=other_ids, open_balance__gt=0).order_by("due_date", "number"))
    return build_customer_context(
        org, customer, invoices, reminder.language, contact=contact,
        step={"code": reminder.step_code, "tone": reminder.tone}, today=today, other_overdue=others,
        registered=reminder.registered, channel=reminder.channel,
        previous_contacts=list_previous_contacts(customer, today, exclude_id=reminder.pk), extra=extra,
        reminder_id=reminder.pk,
    )


def _contact(reminder: Reminder) -> dict:
    from relance.channels.registry import get_channel
    from relance.ledger.models import Contact

    found = None
    value = reminder.recipient
    if value and reminder.channel == "email":
        value = parseaddr(value)[1]  # "Name <address>" once sent
    if value:
        found = Contact.objects.filter(customer=reminder.customer, value=value).first()
    if found is None and reminder.channel in ("email", "sms", "letter", "call"):
        try:
            found = get_channel(reminder.channel).recipient(reminder.customer)
        except Exception:  # noqa: BLE001 - part B's channels may be absent; the contact is then unknown
            found = None
    if found is None:
        return {"name": "", "value": value}
    return {"name": found.name, "value": found.value}


def _history(customer: Customer, invoices: list[Invoice]) -> dict:
    """Promise, payment plan, payment and call outcome: what the thank-you and recap messages need."""
    from relance.dunning.models import PaymentPlan, Promise, Task, TaskKind
    from relance.ledger.models import Payment

    out: dict = {}
    promise = Promise.objects.filter(invoice__in=invoices).order_by("-promised_date", "-id").first() if invoices \
        else None
    if promise:
        out["promise"] = {"date": promise.promised_date, "amount": promise.amount, "state": promise.state}
    plan = PaymentPlan.objects.filter(customer=customer, state="active").order_by("-id").first()
    if plan:
        inst = [{"position": i.position, "due_date": i.due_date, "amount": i.amount} for i in plan.instalments.all()]
        out["plan"] = {"instalments": inst, "total": sum((i["amount"] for i in inst), ZERO)}
    payment = Payment.objects.filter(customer=customer).order_by("-date", "-id").first()
    if payment:
        out["payment"] = {"date": payment.date, "amount": payment.amount, "reference": payment.reference}
    call = Task.objects.filter(customer=customer, kind=TaskKind.CALL).exclude(outcome="").order_by("-done_at",
                                                                                                  "-id").first()
    if call:
        data = call.outcome_data or {}
        out["call"] = {
            "date": org_today(customer.organisation, call.done_at) if call.done_at else call.due_date,
            "outcome": call.outcome,
            "promised_date": _as_date(data.get("date") or data.get("promised_date")),
            "promised_amount": _as_amount(data.get("amount") or data.get("promised_amount")),
            "note": data.get("note", ""),
        }
    return out


def _as_date(value) -> date | None:
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _as_amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


# --- the sample (validation and documentation) ------------------------------------------------


def sample_context(language: str = "fr") -> dict:
    """A full context with every documented variable filled in: templates are validated against it."""
    today = date(2026, 7, 10)
    inv = {"number": "F2026-0042", "issue_date": date(2026, 5, 31), "due_date": date(2026, 6, 30),
           "total": Decimal("1500.00"), "balance": Decimal("1500.00"), "days_late": 10, "currency": "EUR",
           "has_document": True}
    other = {**inv, "number": "F2026-0031", "issue_date": date(2026, 4, 30), "due_date": date(2026, 5, 31),
             "total": Decimal("300.00"), "balance": Decimal("120.00"), "days_late": 40}
    # Not in `invoices` (whose totals stay those of one invoice): here so that validation knows the
    # shape of every list's items and renders the branch that lists invoices not yet due.
    upcoming = {**inv, "number": "F2026-0057", "issue_date": date(2026, 6, 30), "due_date": date(2026, 7, 31),
                "total": Decimal("600.00"), "balance": Decimal("600.00"), "days_late": -21, "has_document": False}
    return {
        "language": language, "channel": "email", "today": today, "deadline_days": 8,
        "deadline": today + timedelta(days=8),
        "org": {"legal_name": "ABC Consulting", "address_lines": ["12 rue de la République", "69002 Lyon"],
                "siren": "732829320", "siret": "73282932000074", "vat_number": "FR44732829320",
                "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR", "email": "compta@abc-consulting.fr",
                "phone": "04 72 00 00 00", "city": "Lyon"},
        "customer": {"name": "Dupont SARL", "external_id": "C001", "address_lines": ["3 rue Lafayette", "75009 Paris"],
                     "kind": "business", "language": language},
        "contact": {"name": "Marie Dupont", "value": "compta@dupont.fr"},
        "salutation": salutation("Mme", "Dupont", language), "addressee": addressee("Mme", language),
        "previous_contacts": [date(2026, 7, 3)],
        "invoices": [inv], "overdue_invoices": [inv], "upcoming_invoices": [upcoming],
        "overdue_total": Decimal("1500.00"), "upcoming_total": Decimal("600.00"),
        "documents_attached": True, "other_overdue": [other],
        "total_due": Decimal("1500.00"), "grand_total": Decimal("1620.00"), "all_overdue_total": Decimal("1620.00"),
        "oldest_due_date": date(2026, 6, 30), "currency": "EUR",
        "late_interest": Decimal("4.99"),
        "interest_periods": [{"number": "F2026-0042", "start": date(2026, 7, 1), "end": today, "days": 10,
                              "base": Decimal("1500.00"), "rate": Decimal("12.15"), "amount": Decimal("4.99"),
                              "estimated": True}],
        "interest_terms": {"percent": Decimal("12.00"), "legal_multiple": None},
        "estimated_rates": ["2026-07-01/2026-07-10"],
        "indemnity": Decimal("40.00"), "penalty_rate": Decimal("12.15"),
        "claim": {"principal": Decimal("1500.00"), "interest": Decimal("4.99"), "indemnity": Decimal("40.00"),
                  "total": Decimal("1544.99")},
        "amount_to_pay": Decimal("1500.00"),
        "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR",
        "epc_qr_png_data_uri": "data:image/png;base64,iVBORw0KGgo=",
        "epc_payload": "BCD\n002\n1\nSCT\nPSSTFRPP\nABC Consulting\nFR1420041010050500013M02606\nEUR1500\n\n"
                       "RF12FF20260042",
        "payment_link": "https://pay.example.com/C001",
        "portal_url": "https://relance.example.com/p/eyJvIjoxLCJjIjoxfQ:1vQ9Zk:AbCdEfGhIjKlMnOpQrStUvWxYz0/",
        "collector": {"name": "Bob Martin", "phone": "04 72 00 00 01", "email": "bob@abc-consulting.fr"},
        "reference": "RF12FF20260042", "step": {"code": "first", "tone": "friendly"}, "registered": False,
        "promise": {"date": date(2026, 7, 15), "amount": Decimal("1500.00"), "state": "open"},
        "plan": {"instalments": [{"position": 1, "due_date": date(2026, 7, 31), "amount": Decimal("750.00")},
                                 {"position": 2, "due_date": date(2026, 8, 31), "amount": Decimal("750.00")}],
                 "total": Decimal("1500.00")},
        "payment": {"date": date(2026, 7, 8), "amount": Decimal("1500.00"), "reference": "VIR C001 F2026-0042"},
        "call": {"date": today, "outcome": "promise", "promised_date": date(2026, 7, 15),
                 "promised_amount": Decimal("1500.00"), "note": ""},
    }
