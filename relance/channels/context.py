"""The variables a message template sees (the documented context).

Every template (e-mail, SMS, letter, call script) is rendered with this dictionary; a template
using any other name is refused at save time (`relance.channels.templates.validate_template`).

    language            "fr" or "en"
    today               date of sending; deadline: today + the organisation's notice delay (8 days)
    deadline_days       that delay, in days
    org                 {legal_name, address_lines, siren, siret, vat_number, iban, bic, email, phone, city}
    customer            {name, external_id, address_lines, kind ("business"|"consumer"|"public"), language}
    contact             {name, value} the recipient (name may be empty)
    invoices            this message's invoices: [{number, issue_date, due_date, total, balance, days_late,
                        currency, has_document}]; days_late is negative before the due date
    documents_attached  True when at least one of these invoices' PDFs is attached
    other_overdue       the customer's other overdue invoices, same shape
    total_due           sum of the balances of `invoices`; grand_total adds `other_overdue`
    oldest_due_date     earliest due date among `invoices` (None when empty)
    currency            "EUR" unless the invoices say otherwise
    late_interest       late-payment interest to date on the overdue invoices (relance.law; 0 without it)
    penalty_rate        the yearly late-payment rate in percent that applies today (filter `percent`)
    indemnity           fixed recovery indemnity, 40 EUR per invoice for businesses, 0 for consumers
    iban, bic           the organisation's bank account
    epc_qr_png_data_uri EPC (SEPA credit transfer) QR code as a data: URI ("" without IBAN or amount)
    payment_link        where to pay online (the organisation's payment URL, else the portal link)
    portal_link         signed link to the customer's portal page
    collector           {name, phone, email} the customer's collector, else the organisation
    reference           what to quote on the transfer (customer code and invoice numbers)
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

from django.conf import settings
from django.core import signing
from django.utils import timezone

from relance.law.late_payment import fixed_indemnity, late_interest, penalty_rate
from relance.lib.money import ZERO, cents

if TYPE_CHECKING:
    from relance.accounts.models import Organisation
    from relance.dunning.models import Reminder
    from relance.ledger.models import Customer, Invoice

PORTAL_SALT = "relance.portal"
REFERENCE_MAX = 140  # the EPC remittance text holds 140 characters


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


def portal_token(customer: Customer) -> str:
    return signing.dumps({"org": customer.organisation_id, "customer": customer.pk}, salt=PORTAL_SALT, compress=True)


def portal_link(customer: Customer) -> str:
    """Signed link to the customer's portal (checked by the portal with signing.loads and PORTAL_SALT)."""
    return f"{settings.BASE_URL.rstrip('/')}/p/{portal_token(customer)}/"


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


def _law(amount: Decimal, due_date: date, today: date, kind: str) -> Decimal:
    return cents(late_interest(amount, due_date, today, kind))


def _penalty_rate(today: date, kind: str) -> Decimal:
    return penalty_rate(today, kind)


def _indemnity(kind: str, count: int) -> Decimal:
    if count == 0:
        return ZERO
    return cents(fixed_indemnity(kind, count))


def local_today(org: Organisation) -> date:
    return timezone.localtime(timezone.now(), ZoneInfo(org.time_zone)).date()


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
    extra: dict | None = None,
) -> dict:
    """The documented context for a customer and a list of invoices (previews, statements, letters)."""
    from relance.channels.models import get_channel_settings
    from relance.channels.qr_email import epc_qr_png_data_uri

    today = today or local_today(org)
    prefs = get_channel_settings(org)
    invoices = list(invoices)
    listed = {inv.pk for inv in invoices}
    if other_overdue is None:
        other_overdue = [i for i in list_open_invoices(customer) if i.pk not in listed and i.due_date < today]
    lines = [invoice_line(i, today) for i in invoices]
    others = [invoice_line(i, today) for i in other_overdue if i.pk not in listed]
    total_due = sum((line["balance"] for line in lines), ZERO)
    currency = lines[0]["currency"] if lines else org.currency
    overdue = [i for i in invoices if i.due_date < today]
    interest = sum((_law(i.open_balance, i.due_date, today, customer.kind) for i in overdue), ZERO)
    numbers = [line["number"] for line in lines]
    reference = transfer_reference(customer, numbers)
    portal = portal_link(customer)
    if contact is None:
        first = customer.contacts.filter(valid=True, kind="email").order_by("id").first()
        contact = {"name": first.name if first else "", "value": first.value if first else ""}
    context = {
        "language": language,
        "today": today,
        "deadline_days": prefs.notice_days,
        "deadline": today + timedelta(days=prefs.notice_days),
        "org": org_dict(org),
        "customer": customer_dict(customer),
        "contact": contact,
        "invoices": lines,
        "documents_attached": any(line["has_document"] for line in lines),
        "other_overdue": others,
        "total_due": total_due,
        "grand_total": total_due + sum((o["balance"] for o in others), ZERO),
        "oldest_due_date": min((line["due_date"] for line in lines), default=None),
        "currency": currency,
        "late_interest": interest,
        "indemnity": _indemnity(customer.kind, len(overdue)),
        "penalty_rate": _penalty_rate(today, customer.kind),
        "iban": org.iban,
        "bic": org.bic,
        "epc_qr_png_data_uri": epc_qr_png_data_uri(org.legal_name, org.iban, org.bic, total_due, reference)
        if currency == "EUR" else "",
        "payment_link": prefs.payment_link(reference=reference, amount=total_due, customer=customer) or portal,
        "portal_link": portal,
        "collector": collector_dict(org, customer),
        "reference": reference,
        "step": step or {"code": "", "tone": "friendly"},
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
    lines = [ln for ln in reminder.lines.select_related("invoice").order_by("invoice__due_date", "id")
             if not ln.dropped]
    invoices = [ln.invoice for ln in lines]
    contact = _contact(reminder)
    others = None
    other_ids = getattr(reminder, "other_invoice_ids", None)
    if other_ids:
        # The planner chose which other overdue invoices to show; those paid since are left out.
        from relance.ledger.models import Invoice

        others = list(Invoice.objects.filter(pk__in=other_ids, open_balance__gt=0).order_by("due_date", "number"))
    return build_customer_context(
        org, customer, invoices, reminder.language, contact=contact,
        step={"code": reminder.step_code, "tone": reminder.tone}, today=today, other_overdue=others,
        registered=reminder.registered, extra=extra,
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
            "date": call.done_at.date() if call.done_at else call.due_date, "outcome": call.outcome,
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
    return {
        "language": language, "today": today, "deadline_days": 8, "deadline": today + timedelta(days=8),
        "org": {"legal_name": "ABC Consulting", "address_lines": ["12 rue de la République", "69002 Lyon"],
                "siren": "732829320", "siret": "73282932000074", "vat_number": "FR44732829320",
                "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR", "email": "compta@abc-consulting.fr",
                "phone": "04 72 00 00 00", "city": "Lyon"},
        "customer": {"name": "Dupont SARL", "external_id": "C001", "address_lines": ["3 rue Lafayette", "75009 Paris"],
                     "kind": "business", "language": language},
        "contact": {"name": "Marie Dupont", "value": "compta@dupont.fr"},
        "invoices": [inv], "documents_attached": True, "other_overdue": [other],
        "total_due": Decimal("1500.00"), "grand_total": Decimal("1620.00"),
        "oldest_due_date": date(2026, 6, 30), "currency": "EUR",
        "late_interest": Decimal("4.23"), "indemnity": Decimal("40.00"), "penalty_rate": Decimal("12.15"),
        "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR",
        "epc_qr_png_data_uri": "data:image/png;base64,iVBORw0KGgo=",
        "payment_link": "https://pay.example.com/C001", "portal_link": "http://127.0.0.1:8000/p/token/",
        "collector": {"name": "Bob Martin", "phone": "04 72 00 00 01", "email": "bob@abc-consulting.fr"},
        "reference": "C001 F2026-0042", "step": {"code": "first", "tone": "friendly"}, "registered": False,
        "promise": {"date": date(2026, 7, 15), "amount": Decimal("1500.00"), "state": "open"},
        "plan": {"instalments": [{"position": 1, "due_date": date(2026, 7, 31), "amount": Decimal("750.00")},
                                 {"position": 2, "due_date": date(2026, 8, 31), "amount": Decimal("750.00")}],
                 "total": Decimal("1500.00")},
        "payment": {"date": date(2026, 7, 8), "amount": Decimal("1500.00"), "reference": "VIR C001 F2026-0042"},
        "call": {"date": today, "outcome": "promise", "promised_date": date(2026, 7, 15),
                 "promised_amount": Decimal("1500.00"), "note": ""},
    }
