"""One timeline of everything that happened with a customer (or one of its invoices), newest first:
reminders as sent, calls and other tasks, payments and allocations, promises, disputes, payment
plans, portal visits and requests, notes. Each source is read once, newest first and capped, then
merged: a fixed number of queries, whatever the customer's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _

from relance.dunning.models import Dispute, Note, PaymentPlan, Promise, Reminder, ReminderLine, Task
from relance.ledger.models import Allocation, Customer, Invoice, Payment
from relance.lib.money import MoneySum
from relance.portal.models import PortalRequest, PortalVisit

PAGE = 30  # events shown at first; "more" adds as many
MAX_EVENTS = 600


@dataclass
class Event:
    at: datetime
    kind: str  # reminder, task, payment, allocation, promise, dispute, plan, visit, request, note
    kind_label: str
    title: str
    detail: str = ""
    url: str = ""
    badge: str = ""
    amount: Decimal | None = None
    currency: str = "EUR"
    invoices: str = ""
    state: str = ""
    message: str = ""  # a reminder's text exactly as sent


class Timeline:
    """The events of a customer, or of one invoice of it (`invoice`), as of the organisation's time zone."""

    def __init__(self, org, customer: Customer, invoice: Invoice | None = None):
        self.org = org
        self.customer = customer
        self.invoice = invoice
        self.tz = ZoneInfo(org.time_zone)

    def events(self, limit: int = PAGE) -> tuple[list[Event], bool]:
        """The `limit` newest events, and whether there are older ones."""
        limit = max(1, min(limit, MAX_EVENTS))
        n = limit + 1
        found: list[Event] = []
        for source in (self._reminders, self._tasks, self._payments, self._allocations, self._promises,
                       self._disputes, self._plans, self._visits, self._requests, self._notes):
            found.extend(source(n))
        found.sort(key=lambda e: e.at, reverse=True)
        return found[:limit], len(found) > limit

    # ---- helpers ----
    def _day(self, day: date) -> datetime:
        """A date-only event, placed at noon of its day (after the night's imports, before the evening)."""
        return datetime.combine(day, time(12), tzinfo=self.tz)

    def _url(self, name: str, pk: int) -> str:
        return reverse(name, args=[self.org.slug, pk])

    def _scope(self, qs, customer_field: str, invoice_field: str):
        if self.invoice is not None:
            return qs.filter(**{invoice_field: self.invoice})
        return qs.filter(**{customer_field: self.customer})

    # ---- sources ----
    def _reminders(self, n: int) -> list[Event]:
        qs = Reminder.objects.filter(customer=self.customer)
        if self.invoice is not None:
            qs = qs.filter(pk__in=ReminderLine.objects.filter(invoice=self.invoice).values("reminder_id"))
        qs = qs.only("pk", "channel", "run_date", "step_code", "template", "state", "recipient", "subject",
                     "created_at", "sent_at", "total_due", "error", "body_text").order_by("-created_at", "-pk")[:n]
        badges = {"sent": "ok", "failed": "bad", "unknown": "bad", "awaiting_approval": "warn", "cancelled": ""}
        out = []
        for r in qs:
            title = r.subject or _("{channel} reminder, step {step}").format(
                channel=r.get_channel_display(), step=r.step_code)
            detail = _("to {recipient}").format(recipient=r.recipient) if r.recipient else ""
            if r.error and r.state != "sent":
                detail = f"{detail} — {r.error}".strip(" —")
            out.append(Event(r.sent_at or r.created_at, "reminder", _("Reminder"), title, detail,
                             self._url("reminder", r.pk), badges.get(r.state, ""), r.total_due,
                             state=r.get_state_display(), message=r.body_text))
        return out

    def _tasks(self, n: int) -> list[Event]:
        qs = self._scope(Task.objects.all(), "customer", "invoices")
        qs = qs.only("pk", "kind", "title", "state", "outcome", "outcome_data", "created_at", "done_at",
                     "reminder_id").order_by("-created_at", "-pk")[:n]
        out = []
        for t in qs:
            note = (t.outcome_data or {}).get("note", "") if isinstance(t.outcome_data, dict) else ""
            detail = " — ".join(x for x in (t.outcome, note) if x)
            # An escalation's documents are its reminder's: the event links to them.
            url = self._url("reminder", t.reminder_id) if t.kind == "escalation" and t.reminder_id else ""
            out.append(Event(t.done_at or t.created_at, "task", t.get_kind_display().capitalize(), t.title, detail,
                             url, badge="ok" if t.state == Task.State.DONE else "", state=t.get_state_display()))
        return out

    def _payments(self, n: int) -> list[Event]:
        if self.invoice is not None:
            return []  # the invoice's allocations say it
        qs = (Payment.objects.filter(customer=self.customer).order_by("-date", "-pk")
              .prefetch_related(Prefetch("allocations", Allocation.objects.select_related("invoice")
                                         .only("pk", "amount", "payment_id", "invoice__number")))[:n])
        out = []
        for p in qs:
            numbers = ", ".join(a.invoice.number for a in p.allocations.all())
            title = _("Payment received ({method})").format(method=p.get_method_display())
            out.append(Event(self._day(p.date), "payment", _("Payment"), title, p.reference, badge="ok",
                             amount=p.amount, currency=p.currency, invoices=numbers))
        return out

    def _allocations(self, n: int) -> list[Event]:
        qs = Allocation.objects.select_related("invoice", "payment", "credit_note")
        if self.invoice is not None:
            qs = qs.filter(invoice=self.invoice)
        else:  # the payments' allocations are shown with their payment
            qs = qs.filter(invoice__customer=self.customer, payment__isnull=True)
        out = []
        for a in qs.order_by("-created_at", "-pk")[:n]:
            if a.payment is not None:
                at, title = self._day(a.payment.date), _("Payment allocated ({reference})").format(
                    reference=a.payment.reference or a.payment.get_method_display())
            elif a.credit_note is not None:
                at, title = self._day(a.credit_note.date), _("Credit note {number}").format(number=a.credit_note.number)
            else:
                at, title = a.created_at, _("Settled outside Relance")
            out.append(Event(at, "allocation", _("Allocation"), title, badge="ok", amount=a.amount,
                             currency=a.invoice.currency, invoices=a.invoice.number))
        return out

    def _promises(self, n: int) -> list[Event]:
        qs = self._scope(Promise.objects.all(), "invoice__customer", "invoice").select_related("invoice")
        out = []
        for p in qs.order_by("-created_at", "-pk")[:n]:
            title = _("Promise to pay by {day}").format(day=p.promised_date.strftime("%d/%m/%Y"))
            badge = {"kept": "ok", "broken": "bad", "open": "warn"}.get(p.state, "")
            out.append(Event(p.created_at, "promise", _("Promise"), title, p.get_state_display(), badge=badge,
                             amount=p.amount, currency=p.invoice.currency, invoices=p.invoice.number))
        return out

    def _disputes(self, n: int) -> list[Event]:
        qs = self._scope(Dispute.objects.all(), "invoice__customer", "invoice").select_related("invoice")
        out = []
        for d in qs.order_by("-opened_at", "-pk")[:n]:
            if d.closed_at is not None:
                out.append(Event(d.closed_at, "dispute", _("Dispute"), _("Dispute closed"), d.resolution,
                                 badge="ok", invoices=d.invoice.number))
            out.append(Event(d.opened_at, "dispute", _("Dispute"), _("Dispute opened"), d.reason,
                             badge="bad" if d.is_open else "", invoices=d.invoice.number))
        return out

    def _plans(self, n: int) -> list[Event]:
        qs = self._scope(PaymentPlan.objects.all(), "customer", "invoices").annotate(
            count=Count("instalments", distinct=True), total=MoneySum("instalments__amount"))
        out = []
        for p in qs.order_by("-created_at", "-pk")[:n]:
            title = _("Payment plan: {n} instalment(s)").format(n=p.count)
            detail = " — ".join(x for x in (p.get_state_display(), p.note) if x)
            out.append(Event(p.created_at, "plan", _("Payment plan"), title, detail, amount=p.total))
        return out

    def _visits(self, n: int) -> list[Event]:
        if self.invoice is not None:
            return []
        qs = PortalVisit.objects.filter(customer=self.customer).only("pk", "at", "page", "reminder_id")
        return [Event(v.at, "visit", _("Portal"), _("Portal visit ({page})").format(page=v.page),
                      url=self._url("reminder", v.reminder_id) if v.reminder_id else "")
                for v in qs.order_by("-at", "-pk")[:n]]

    def _requests(self, n: int) -> list[Event]:
        qs = self._scope(PortalRequest.objects.all(), "customer", "invoices").prefetch_related(
            Prefetch("invoices", Invoice.objects.only("pk", "number")))
        out = []
        for r in qs.order_by("-created_at", "-pk")[:n]:
            title = _("Portal request: {kind}").format(kind=r.get_kind_display())
            detail = " — ".join(x for x in (r.reason, r.comment, r.resolution) if x)
            out.append(Event(r.created_at, "request", _("Portal"), title, detail,
                             badge="warn" if r.state == PortalRequest.State.OPEN else "ok", amount=r.amount,
                             invoices=", ".join(i.number for i in r.invoices.all())))
        return out

    def _notes(self, n: int) -> list[Event]:
        qs = self._scope(Note.objects.all(), "customer", "invoice").select_related("author", "invoice")
        out = []
        for note in qs.order_by("-created_at", "-pk")[:n]:
            author = note.author.get_username() if note.author else ""
            title = _("Note by {author}").format(author=author) if author else _("Note")
            out.append(Event(note.created_at, "note", _("Note"), title, note.text,
                             invoices=note.invoice.number if note.invoice else ""))
        return out
