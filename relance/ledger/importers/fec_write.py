"""Writing what a FEC says of the customer accounts: customers, invoices, credit notes, payments, lettering.

Upserts: invoices and credit notes by number, payments by the piece's stable key (external_id),
customers by code. Everything goes through `relance.lib.bulk` and `relance.ledger.balances`
(the only writer of open balances), with a query per few thousand pieces, never per row.
Lettering only adds what is missing: an allocation made in Relance is never taken back by a
FEC, and a later FEC that letters more settles more.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Sum
from django.utils.translation import pgettext

from relance.accounts.models import Organisation
from relance.law.payment_terms import default_due_date
from relance.ledger import balances
from relance.ledger.importers.invoices import check_invoice
from relance.ledger.importers.result import ImportResult
from relance.ledger.models import (
    Allocation,
    AllocationSource,
    CreditNote,
    Customer,
    ImportBatch,
    Invoice,
    Payment,
    PaymentMethod,
)
from relance.lib.bulk import BulkInsert, update_rows
from relance.lib.db import chunks
from relance.lib.money import ZERO

if TYPE_CHECKING:
    from relance.ledger.importers.fec import FecLedger, Piece

# check_invoice's fields, as the FEC names the column they come from.
_COLUMN = {"total": "Debit", "amount_excl_tax": "Debit", "tax": "Debit", "issue_date": "PieceDate",
           "due_date": "EcheanceDate"}


def write_ledger(org: Organisation, batch: ImportBatch, ledger: FecLedger,
                 plan: list[tuple[Piece, Piece, Decimal]], result: ImportResult) -> set[int]:
    """Write the ledger; the ids of the invoices whose balance may have changed."""
    customers = _customers(org, ledger.customers, result)
    invoices, changed, created = _invoices(org, batch, ledger, customers, result)
    notes, new_notes = _credit_notes(org, batch, ledger, customers, result)
    payments, new_payments = _payments(org, batch, ledger.payments, customers, result)
    if not result.ok:
        return set()
    balances.refresh(changed)  # new invoices were written with their balance: nothing is allocated to them yet
    new = created | {("credit_note_id", pk) for pk in new_notes} | {("payment_id", pk) for pk in new_payments}
    touched = changed | created | _allocate(plan, invoices, notes, payments, new, result)
    result.extra["customer_debits_left_out"] = ledger.ignored
    return touched


def _customers(org: Organisation, names: dict[str, str], result: ImportResult) -> dict[str, int]:
    """Code -> id, creating the customers the file names and Relance does not know."""
    codes = list(names)
    found: dict[str, int] = {}
    for chunk in chunks(codes, 900):
        found.update(Customer.objects.filter(organisation=org, external_id__in=chunk).order_by()
                     .values_list("external_id", "id"))
    new = [code for code in codes if code not in found]
    ids = BulkInsert(Customer, ("organisation", "external_id", "name", "language", "country")).insert_returning(
        [(org.pk, code, names[code], org.language, org.country) for code in new])
    found.update(zip(new, ids, strict=True))
    result.extra["customers_created"] = len(new)
    return found


def _stored(model, org: Organisation, field: str, keys: list[str], fields: tuple[str, ...]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    if not model.objects.filter(organisation=org).exists():
        return found  # a first import: no lookups
    for chunk in chunks(keys, 900):
        for row in model.objects.filter(organisation=org, **{f"{field}__in": chunk}).order_by().values(*fields):
            found[row[field]] = row
    return found


def _allocated(field: str, ids: list[int]) -> dict[int, Decimal]:
    """What is already allocated from each payment or credit note."""
    found: dict[int, Decimal] = {}
    for chunk in chunks(ids, 900):
        query = Allocation.objects.filter(**{f"{field}__in": chunk}).order_by().values(field)
        found.update((row[field], row["s"]) for row in query.annotate(s=Sum("amount")))
    return found


def _invoices(org, batch, ledger: FecLedger, customers: dict[str, int], result: ImportResult):
    """Id of each invoice piece (by id() of the piece), the ids of the invoices rewritten, those created."""
    numbers = ledger.numbers
    stored = _stored(Invoice, org, "number", [numbers[id(p)] for p in ledger.invoices],
                     ("id", "number", "customer_id", "issue_date", "due_date", "amount_excl_tax", "tax", "total",
                      "open_balance"))
    ids: dict[int, int] = {}
    new, new_pieces, changed = [], [], []
    for piece in ledger.invoices:
        number, customer = numbers[id(piece)], customers[piece.customer]
        issue = piece.piece_date or piece.date
        values = {"total": piece.amount, "issue_date": issue, "due_date": piece.due or default_due_date(issue)}
        if id(piece) in ledger.tax:
            values["tax"] = ledger.tax[id(piece)]
        problems = check_invoice(values, org.currency)
        old = stored.get(number)
        if old is not None and old["customer_id"] != customer:
            problems.append(("number", pgettext("import", "the invoice %(number)s already exists for another customer")
                             % {"number": number}))
        for name, message in problems:
            result.add_error(piece.line, _COLUMN.get(name, "PieceRef"), message)
        if problems:
            continue
        if old is None:
            new.append(values)
            new_pieces.append((piece, customer, number))
            continue
        ids[id(piece)] = old["id"]
        # What the FEC does not say (a due date, the tax) stays as stored.
        given = ["issue_date", "total"] + (["due_date"] if piece.due else []) + (
            ["amount_excl_tax", "tax"] if id(piece) in ledger.tax else [])
        if all(values[f] == old[f] for f in given):
            result.unchanged += 1
            continue
        settled = old["total"] - old["open_balance"]
        if values["total"] < settled:
            result.add_error(piece.line, "Debit", pgettext(
                "import", "the invoice %(number)s is already settled for %(settled)s, more than its new amount "
                "%(amount)s") % {"number": number, "settled": settled, "amount": values["total"]})
            continue
        changed.append((given, values, old["id"]))
    if not result.ok:
        return ids, set(), set()
    opening, status_for = balances.opening_balance, balances.status_for
    rows = []
    for values, (_, customer, number) in zip(new, new_pieces, strict=True):
        total = values["total"]
        balance = opening(total, ZERO)
        rows.append((org.pk, customer, number, values["issue_date"], values["due_date"], org.currency,
                     values["amount_excl_tax"], values["tax"], total, balance, status_for(total, balance), "",
                     batch.pk))
    new_ids = BulkInsert(Invoice, (
        "organisation", "customer", "number", "issue_date", "due_date", "currency", "amount_excl_tax", "tax",
        "total", "open_balance", "status", "external_id", "source_import")).insert_returning(rows)
    ids.update((id(piece), pk) for (piece, _, _), pk in zip(new_pieces, new_ids, strict=True))
    by_fields: dict[tuple, list[tuple]] = defaultdict(list)
    for given, values, pk in changed:
        by_fields[tuple(given)].append((*(values[f] for f in given), pk))
    for given, rows in by_fields.items():
        update_rows(Invoice, given, rows)
    result.created += len(new_ids)
    result.updated += len(changed)
    result.extra["invoices"] = len(ledger.invoices)
    return ids, {pk for _, _, pk in changed}, set(new_ids)


def _credit_notes(org, batch, ledger: FecLedger, customers: dict[str, int], result: ImportResult):
    """Id of each credit-note piece (by id() of the piece), and the ids of those created."""
    numbers = ledger.numbers
    stored = _stored(CreditNote, org, "number", [numbers[id(p)] for p in ledger.credit_notes],
                     ("id", "number", "customer_id", "total"))
    allocated = _allocated("credit_note_id", [row["id"] for row in stored.values()])
    ids, new, changed = {}, [], []
    for piece in ledger.credit_notes:
        number = numbers[id(piece)]
        old = stored.get(number)
        if old is None:
            new.append(piece)
            continue
        if old["customer_id"] != customers[piece.customer]:
            result.add_error(piece.line, "PieceRef", pgettext(
                "import", "the credit note %(number)s already exists for another customer") % {"number": number})
            continue
        ids[id(piece)] = old["id"]
        used = allocated.get(old["id"], ZERO)
        if piece.amount == old["total"]:
            result.unchanged += 1
        elif piece.amount < used:
            result.add_error(piece.line, "Credit", pgettext(
                "import", "the credit note %(number)s is already allocated for %(used)s, more than its new amount "
                "%(amount)s") % {"number": number, "used": used, "amount": piece.amount})
        else:
            changed.append((piece.amount, old["id"]))
    if not result.ok:
        return ids, set()
    new_ids = BulkInsert(CreditNote, (
        "organisation", "customer", "number", "date", "currency", "total", "external_id", "source_import",
    )).insert_returning([(org.pk, customers[p.customer], numbers[id(p)], p.piece_date or p.date, org.currency,
                          p.amount, p.key, batch.pk) for p in new])
    ids.update((id(p), pk) for p, pk in zip(new, new_ids, strict=True))
    update_rows(CreditNote, ["total"], changed)
    result.created += len(new)
    result.updated += len(changed)
    result.extra["credit_notes"] = len(ledger.credit_notes)
    return ids, set(new_ids)


def _payments(org, batch, pieces: list[Piece], customers: dict[str, int], result: ImportResult):
    """Id of each payment piece (by id() of the piece), and the ids of those created."""
    stored = _stored(Payment, org, "external_id", [p.key for p in pieces], ("id", "external_id", "amount"))
    allocated = _allocated("payment_id", [row["id"] for row in stored.values()])
    ids, new, changed = {}, [], []
    for piece in pieces:
        old = stored.get(piece.key)
        if old is None:
            new.append(piece)
            continue
        ids[id(piece)] = old["id"]
        used = allocated.get(old["id"], ZERO)
        if piece.amount == old["amount"]:
            result.unchanged += 1
        elif piece.amount < used:
            result.add_error(piece.line, "Credit", pgettext(
                "import", "the payment is already allocated for %(used)s, more than its new amount %(amount)s")
                % {"used": used, "amount": piece.amount})
        else:
            changed.append((piece.amount, old["id"]))
    if not result.ok:
        return ids, set()
    method = PaymentMethod.OTHER.value
    new_ids = BulkInsert(Payment, (
        "organisation", "customer", "date", "amount", "currency", "method", "reference", "external_id",
        "source_import",
    )).insert_returning([(org.pk, customers[p.customer], p.date, p.amount, org.currency, method,
                          f"{p.ref} {p.label}"[:200], p.key, batch.pk) for p in new])
    ids.update((id(p), pk) for p, pk in zip(new, new_ids, strict=True))
    update_rows(Payment, ["amount"], changed)
    result.created += len(new)
    result.updated += len(changed)
    result.extra["payments"] = len(pieces)
    return ids, set(new_ids)


def _allocate(plan, invoices: dict[int, int], notes: dict[int, int], payments: dict[int, int], new: set,
              result: ImportResult) -> set[int]:
    """Add the allocations the lettering says and Relance lacks; the invoices they touch.

    `new`: the invoice ids and (field, id) of the credit notes and payments this import created,
    which have no allocation yet: only the others are looked up.
    """
    wanted: dict[tuple[str, int, int], Decimal] = defaultdict(lambda: ZERO)
    left: dict[tuple[str, int], Decimal] = {}  # what each credit note or payment may still give
    owed: dict[int, Decimal] = {}  # what each invoice still owes
    for credit, invoice, amount in plan:
        source = ("credit_note_id", notes[id(credit)]) if id(credit) in notes else ("payment_id", payments[id(credit)])
        invoice_id = invoices[id(invoice)]
        wanted[(*source, invoice_id)] += amount
        left[source] = credit.amount
        owed[invoice_id] = invoice.amount
    if not wanted:
        return set()
    have: dict[tuple[str, int, int], Decimal] = defaultdict(lambda: ZERO)
    for field in ("credit_note_id", "payment_id"):
        for chunk in chunks(sorted(src for f, src in left if f == field and (f, src) not in new), 900):
            for src, invoice_id, amount in Allocation.objects.filter(**{f"{field}__in": chunk}).order_by() \
                    .values_list(field, "invoice_id", "amount"):
                have[(field, src, invoice_id)] += amount
                left[(field, src)] -= amount
    for chunk in chunks(sorted(pk for pk in owed if pk not in new), 900):
        owed.update(Invoice.objects.filter(pk__in=chunk).order_by().values_list("pk", "open_balance"))
    rows = []
    for (field, src, invoice_id), amount in wanted.items():
        take = min(amount - have[(field, src, invoice_id)], owed[invoice_id], left[(field, src)])
        if take > 0:
            source = AllocationSource.CREDIT_NOTE if field == "credit_note_id" else AllocationSource.PAYMENT
            rows.append((invoice_id, source.value, src if field == "payment_id" else None,
                         src if field == "credit_note_id" else None, take))
            owed[invoice_id] -= take
            left[(field, src)] -= take
    BulkInsert(Allocation, ("invoice", "source", "payment", "credit_note", "amount")).insert(rows)
    result.extra["allocations_created"] = len(rows)
    touched = {row[0] for row in rows}
    # The balances module recomputes open balance and status from the allocations.
    balances.refresh(touched)
    return touched
