"""Reconcile an organisation's payments: read in bulk, match (pure), apply or queue, learn the payers.

Read -> decide -> write: the unallocated payments that have no proposal yet and the open invoices are
read once into plain states, `matching.match_payments` decides, and one transaction writes: the
allocations of the proposals at or above the threshold through `balances.allocate_many` (the balances'
one writer), the payments' customer, a `MatchProposal` row for every payment (applied or waiting for
review) and the payers learnt. A payment that has a proposal is never matched again: reconciling twice
does nothing more. After the commit `ledger_changed` tells dunning which invoices were paid; the
reminders planned for them are dropped before the send by the sender's own eligibility check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from relance.accounts.models import Organisation
from relance.accounts.permissions import WRITE, require
from relance.ledger import balances
from relance.ledger.matching import (
    BankLine,
    InvoiceIndex,
    KnownPayers,
    OpenInvoice,
    Options,
    Proposal,
    match_payments,
)
from relance.ledger.models import (
    Allocation,
    Customer,
    Invoice,
    InvoiceStatus,
    KnownPayer,
    MatchProposal,
    MatchSettings,
    Payment,
    ProposalState,
)
from relance.ledger.references import compact, normalise_iban, normalise_name
from relance.ledger.signals import ledger_changed
from relance.lib.bulk import BulkInsert, update_rows
from relance.lib.money import ZERO

PROPOSAL_FIELDS = ["organisation_id", "payment_id", "customer_id", "allocations", "confidence", "rule", "reason",
                   "payer_known_by", "state", "auto", "decided_by_id", "decided_at"]
PAYABLE = [InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID, InvoiceStatus.DISPUTED]


@dataclass
class ReconcileResult:
    applied: int = 0
    queued: int = 0
    allocated: Decimal = ZERO
    invoice_ids: tuple[int, ...] = ()


def threshold_of(org: Organisation) -> int:
    """The organisation's own threshold, else RELANCE_MATCH_THRESHOLD."""
    own = MatchSettings.objects.filter(organisation=org).values_list("threshold", flat=True).first()
    return own if own is not None else settings.RELANCE_MATCH_THRESHOLD


def options_of(org: Organisation) -> Options:
    oldest = MatchSettings.objects.filter(organisation=org).values_list("oldest_first", flat=True).first()
    return Options(oldest_first=True if oldest is None else oldest)


# --- read ---------------------------------------------------------------------------------------


def load_bank_lines(org: Organisation, payment_ids: Iterable[int] | None = None) -> list[BankLine]:
    """The payments with something left to allocate and no proposal yet, oldest first."""
    used = (Allocation.objects.filter(payment=OuterRef("pk")).values("payment").order_by()
            .annotate(s=Sum("amount")).values("s"))
    money = DecimalField(max_digits=14, decimal_places=2)
    payments = (Payment.objects.filter(organisation=org, match_proposal__isnull=True)
                .annotate(used=Coalesce(Subquery(used), Value(ZERO), output_field=money)).order_by("date", "pk"))
    if payment_ids is not None:
        payments = payments.filter(pk__in=list(payment_ids))
    rows = payments.values_list("pk", "amount", "used", "date", "currency", "reference", "payer_name",
                                "payer_iban", "customer_id")
    return [BankLine(pk, amount - used, day, currency, text=reference, payer_name=name, payer_iban=iban,
                     customer_id=customer_id)
            for pk, amount, used, day, currency, reference, name, iban, customer_id in rows.iterator(chunk_size=5000)
            if amount - used > 0]


def load_open_invoices(org: Organisation) -> list[OpenInvoice]:
    rows = (Invoice.objects.filter(organisation=org, status__in=PAYABLE, open_balance__gt=0).order_by()
            .values_list("pk", "number", "customer_id", "open_balance", "due_date", "currency"))
    return [OpenInvoice(*row) for row in rows.iterator(chunk_size=20000)]


def load_known_payers(org: Organisation) -> KnownPayers:
    payers = KnownPayers()
    for kind, value, customer_id in KnownPayer.objects.filter(organisation=org).values_list(
            "kind", "value", "customer_id"):
        (payers.ibans if kind == "iban" else payers.names)[value] = customer_id
    names: dict[str, list[int]] = {}
    for pk, name, code in Customer.objects.filter(organisation=org).values_list("pk", "name", "external_id"):
        names.setdefault(normalise_name(name), []).append(pk)
        payers.customer_codes[compact(code)] = pk
    # A customer's own name identifies it only when no other customer bears it.
    payers.customer_names = {name: ids[0] for name, ids in names.items() if name and len(ids) == 1}
    return payers


# --- write --------------------------------------------------------------------------------------


def reconcile(org: Organisation, payment_ids: Iterable[int] | None = None, user=None,
              today: date | None = None) -> ReconcileResult:
    """Match the organisation's unallocated payments; apply what is sure enough, queue the rest.
    With `today`, payments dated after it (a value date to come) wait for a later run."""
    require(user, org, WRITE)
    lines = [line for line in load_bank_lines(org, payment_ids) if today is None or line.date <= today]
    if not lines:
        return ReconcileResult()
    index = InvoiceIndex(load_open_invoices(org))
    proposals = match_payments(lines, index, load_known_payers(org), options_of(org))
    by_id = {line.id: line for line in lines}
    result = write_proposals(org, proposals, by_id, threshold_of(org), user)
    if result.invoice_ids:
        transaction.on_commit(lambda: ledger_changed.send(
            sender=reconcile, organisation=org, invoice_ids=list(result.invoice_ids), insolvent_customer_ids=[]))
    return result


@transaction.atomic
def write_proposals(org: Organisation, proposals: list[Proposal], lines: dict[int, BankLine], threshold: int,
                    user=None) -> ReconcileResult:
    now = timezone.now()
    result = ReconcileResult()
    rows, new_customers, learnt, records = [], [], [], []
    for p in proposals:
        apply = p.confidence >= threshold and (p.allocations or p.customer_id is not None) and p.confidence > 0
        records.append((
            org.pk, p.payment_id, p.customer_id, [{"invoice": i, "amount": str(a)} for i, a in p.allocations],
            p.confidence, p.rule, str(p.reason)[:500], p.payer_known_by,
            (ProposalState.CONFIRMED if apply else ProposalState.PROPOSED).value, bool(apply),
            getattr(user, "pk", None) if apply else None, now if apply else None,
        ))
        if not apply:
            result.queued += 1
            continue
        result.applied += 1
        rows += [(p.payment_id, i, a) for i, a in p.allocations]
        if p.customer_id is not None and lines[p.payment_id].customer_id is None:
            new_customers.append((p.customer_id, p.payment_id))
        learnt.append((p.customer_id, lines[p.payment_id]))
    balances.allocate_many(org.pk, rows, user=user)
    # The payments' customer, where they had none (an overpayment's rest is that customer's credit).
    update_rows(Payment, ["customer_id"], new_customers)
    BulkInsert(MatchProposal, PROPOSAL_FIELDS).insert(records)
    learn_payers(org, learnt)
    result.allocated = sum((a for _, _, a in rows), ZERO)
    result.invoice_ids = tuple(sorted({i for _, i, _ in rows}))
    return result


def learn_payers(org: Organisation, confirmed: Iterable[tuple[int | None, BankLine | Payment]]) -> int:
    """Remember the IBAN and normalised name of payments confirmed for a customer (first one wins)."""
    seen: set[tuple[str, str]] = set()
    rows = []
    for customer_id, line in confirmed:
        if customer_id is None:
            continue
        iban, name = normalise_iban(line.payer_iban), normalise_name(line.payer_name)
        for kind, value in (("iban", iban), ("name", name)):
            if value and (kind, value) not in seen:
                seen.add((kind, value))
                rows.append(KnownPayer(organisation=org, customer_id=customer_id, kind=kind, value=value[:200]))
    KnownPayer.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)
