"""Pure payment matching: bank lines + open invoices + known payers -> proposed allocations.

No ORM: `relance.ledger.reconcile` loads plain states, calls `match_payments`, and applies or queues
what comes back. The rules, most confident first:

    rf          a structured creditor reference (ISO 11649) of one of our invoices, or of a customer
    number      an invoice number in the remittance text, however it was typed (references.py)
    amount      the payer is known (customer given, IBAN or name learnt) and the amount equals one
                open invoice of that customer
    combination ... or a combination of its open invoices (bounded subset sum)
    oldest      ... or, when the organisation allows it, the oldest invoices first (partial)

Payments are matched in order and the invoices' remaining balances follow, so two payments never
allocate the same balance twice: no allocation exceeds its payment or its invoice's open balance.
What a payment pays beyond its invoices stays unallocated: the customer's credit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import pgettext_lazy

from relance.ledger.references import (
    CUSTOMER_TAG,
    INVOICE_TAG,
    NumberKey,
    compact,
    normalise_iban,
    normalise_name,
    number_parts,
    prefixes_agree,
    read_creditor_references,
    text_keys,
)

ZERO = Decimal("0.00")
# What the proposals say (English source, translated when a reason is read).
NOTHING = pgettext_lazy("matching", "Nothing to allocate.")
NO_MATCH = pgettext_lazy("matching", "No invoice number, reference or known payer found.")
BY_RF = pgettext_lazy("matching", "Structured reference %(ref)s of invoice %(number)s.")
BY_NUMBER = pgettext_lazy("matching", "Invoice number %(numbers)s in the remittance text.")
CREDIT_ONLY = pgettext_lazy("matching", "Known payer without open invoice: kept as the customer's credit.")
BY_AMOUNT = pgettext_lazy("matching", "Known payer; the amount equals invoice %(number)s.")
AMBIGUOUS_AMOUNT = pgettext_lazy("matching", "Known payer; %(count)d invoices of this amount, the oldest chosen.")
BY_COMBINATION = pgettext_lazy("matching", "Known payer; the amount equals invoices %(numbers)s together.")
NO_FIT = pgettext_lazy("matching", "Known payer; no invoice or combination of this amount.")
OLDEST_FIRST = pgettext_lazy("matching", "Known payer; allocated to the oldest invoices first.")
LEFT_AS_CREDIT = pgettext_lazy("matching", "%(amount)s %(currency)s left as the customer's credit.")
CONFIDENCE = {
    "rf": 98, "compact": 95, "year_seq": 90, "seq_customer": 80, "seq": 70,
    "known_customer": 90, "known_name": 85, "ambiguous": 55, "oldest": 50,
}


@dataclass(frozen=True)
class BankLine:
    """An incoming payment still to allocate (amount: what is left of it)."""

    id: int
    amount: Decimal
    date: date
    currency: str = "EUR"
    text: str = ""
    reference: str = ""
    payer_name: str = ""
    payer_iban: str = ""
    customer_id: int | None = None


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str
    customer_id: int
    balance: Decimal
    due_date: date
    currency: str = "EUR"


@dataclass
class KnownPayers:
    """Who pays for whom: learnt IBANs and names, customers' own names, and customer codes (RF C...)."""

    ibans: dict[str, int] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    customer_names: dict[str, int] = field(default_factory=dict)
    customer_codes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    oldest_first: bool = True
    max_combination_invoices: int = 16
    max_combination_steps: int = 20_000


class Reason:
    """Why a proposal was made, put in words (gettext) when read: matching a million lines translates nothing."""

    __slots__ = ("parts",)

    def __init__(self, message, **args):
        self.parts = [(message, args)]

    def also(self, message, **args) -> Reason:
        self.parts.append((message, args))
        return self

    def __str__(self) -> str:
        return " ".join(str(message) % args if args else str(message) for message, args in self.parts)


@dataclass
class Proposal:
    payment_id: int
    customer_id: int | None
    allocations: list[tuple[int, Decimal]]
    confidence: int
    rule: str
    reason: Reason
    payer_known_by: str = ""  # "iban", "name" or "": how the payer was recognised (learning)

    @property
    def allocated(self) -> Decimal:
        return sum((amount for _, amount in self.allocations), ZERO)


class _Remaining(dict):
    """Remaining balance per invoice id: the invoice's own until a proposal takes from it."""

    def __init__(self, by_id: dict[int, OpenInvoice]):
        super().__init__()
        self.by_id = by_id

    def __missing__(self, invoice_id: int) -> Decimal:
        return self.by_id[invoice_id].balance


class InvoiceIndex:
    """The open invoices indexed once (by number key and by customer) with their remaining balances."""

    def __init__(self, invoices: Iterable[OpenInvoice]):
        self.by_id: dict[int, OpenInvoice] = {}
        self.prefix: dict[int, str] = {}
        compacts: dict = {}
        year_seqs: dict = {}
        seqs: dict = {}
        customers: dict[int, list[OpenInvoice]] = {}
        by_id, prefixes = self.by_id, self.prefix
        for inv in invoices:
            by_id[inv.id] = inv
            customers.setdefault(inv.customer_id, []).append(inv)
            whole, year_seq, seq, prefix = number_parts(inv.number)
            compacts.setdefault(whole, []).append(inv.id)
            if year_seq is not None:
                year_seqs.setdefault(year_seq, []).append(inv.id)
            if seq is not None:
                seqs.setdefault(seq, []).append(inv.id)
            if prefix:
                prefixes[inv.id] = prefix
        self.by_kind = {"compact": compacts, "year_seq": year_seqs, "seq": seqs}
        self.remaining: dict[int, Decimal] = _Remaining(self.by_id)
        self._customers = customers
        self._sorted: set[int] = set()

    def open_of(self, customer_id: int, currency: str) -> list[OpenInvoice]:
        """The customer's invoices with something left, oldest due first (sorted on first use)."""
        invoices = self._customers.get(customer_id, [])
        if customer_id not in self._sorted:
            invoices.sort(key=lambda i: (i.due_date, i.number))
            self._sorted.add(customer_id)
        taken = self.remaining  # holds only the invoices a proposal took from (the others are open)
        return [i for i in invoices if i.currency == currency and (i.id not in taken or taken[i.id] > ZERO)]

    def lookup(self, key: NumberKey, line: BankLine) -> list[int]:
        value = key.value if key.kind == "year_seq" else key.value[0]
        ids = [i for i in self.by_kind[key.kind].get(value, ()) if self._usable(i, line)]
        if key.kind == "year_seq":
            ids = [i for i in ids if prefixes_agree(key.prefix, self.prefix.get(i, ""))]
        return ids

    def _usable(self, invoice_id: int, line: BankLine) -> bool:
        inv = self.by_id[invoice_id]
        return (inv.currency == line.currency and self.remaining[invoice_id] > 0
                and (line.customer_id is None or inv.customer_id == line.customer_id))


def match_payments(
    lines: Iterable[BankLine], invoices: Iterable[OpenInvoice] | InvoiceIndex,
    payers: KnownPayers | None = None, options: Options | None = None,
) -> list[Proposal]:
    """One proposal per bank line, in order; the index's remaining balances follow the proposals."""
    index = invoices if isinstance(invoices, InvoiceIndex) else InvoiceIndex(invoices)
    payers = payers or KnownPayers()
    options = options or Options()
    proposals = []
    for line in lines:
        proposal = match_one(line, index, payers, options)
        for invoice_id, amount in proposal.allocations:
            index.remaining[invoice_id] -= amount
        proposals.append(proposal)
    return proposals


def match_one(line: BankLine, index: InvoiceIndex, payers: KnownPayers, options: Options) -> Proposal:
    if line.amount <= 0:
        return Proposal(line.id, line.customer_id, [], 0, "none", Reason(NOTHING))
    by_reference = _by_creditor_reference(line, index, payers)
    if by_reference is not None:
        return by_reference
    by_number = _by_number(line, index)
    if by_number is not None:
        return by_number
    customer_id, known_by, base = _payer(line, payers)
    if customer_id is None:
        return Proposal(line.id, None, [], 0, "none",
                        Reason(NO_MATCH))
    return _by_customer(line, index, customer_id, known_by, base, options)


# --- the rules ----------------------------------------------------------------------------------


def _by_creditor_reference(line: BankLine, index: InvoiceIndex, payers: KnownPayers) -> Proposal | None:
    for tag, value in read_creditor_references(line.reference, line.text):
        if tag == INVOICE_TAG:
            ids = index.lookup(NumberKey("compact", (value,)), line)
            if len(ids) == 1:
                reason = Reason(BY_RF, ref="RF", number=index.by_id[ids[0]].number)
                return _allocate(line, index, ids, CONFIDENCE["rf"], "rf", reason)
        elif tag == CUSTOMER_TAG and value in payers.customer_codes:
            customer_id = payers.customer_codes[value]
            if line.customer_id not in (None, customer_id):
                continue
            return _by_customer(line, index, customer_id, "", CONFIDENCE["known_customer"], Options(False))
    return None


def _by_number(line: BankLine, index: InvoiceIndex) -> Proposal | None:
    found: list[int] = []
    confidence = 100
    for token in text_keys(f"{line.reference} {line.text}"):
        for key in token:  # the strongest key that names one invoice speaks for the token
            if key.kind == "seq" and not key.prefix:
                continue  # a bare number is an amount or a date as often as an invoice
            ids = index.lookup(key, line)
            if not ids or (len(ids) > 1 and key.kind != "compact"):
                continue
            ids = [i for i in ids if i not in found]
            if ids:
                kind = "seq_customer" if key.kind == "seq" and line.customer_id is not None else key.kind
                confidence = min(confidence, CONFIDENCE[kind])
                found += ids
            break
    if not found:
        return None
    numbers = ", ".join(index.by_id[i].number for i in found)
    reason = Reason(BY_NUMBER, numbers=numbers)
    return _allocate(line, index, found, confidence, "number", reason)


def _payer(line: BankLine, payers: KnownPayers) -> tuple[int | None, str, int]:
    """(customer, how it is known, base confidence) of the payer."""
    if line.customer_id is not None:
        return line.customer_id, "", CONFIDENCE["known_customer"]
    iban = normalise_iban(line.payer_iban)
    if iban and iban in payers.ibans:
        return payers.ibans[iban], "iban", CONFIDENCE["known_customer"]
    name = normalise_name(line.payer_name)
    if name and name in payers.names:
        return payers.names[name], "name", CONFIDENCE["known_name"]
    if name and name in payers.customer_names:
        return payers.customer_names[name], "name", CONFIDENCE["known_name"] - 5
    return None, "", 0


def _by_customer(line: BankLine, index: InvoiceIndex, customer_id: int, known_by: str, base: int,
                 options: Options) -> Proposal:
    invoices = index.open_of(customer_id, line.currency)
    if not invoices:
        reason = Reason(CREDIT_ONLY)
        # Paying with nothing owed is unusual: a person looks before it becomes a credit.
        return Proposal(line.id, customer_id, [], base - 15, "credit", reason, known_by)
    equal = [i for i in invoices if index.remaining[i.id] == line.amount]
    if equal:
        confidence = base if len(equal) == 1 else CONFIDENCE["ambiguous"]
        reason = Reason(BY_AMOUNT, number=equal[0].number)
        if len(equal) > 1:
            reason = Reason(AMBIGUOUS_AMOUNT, count=len(equal))
        return _proposal(line, customer_id, [(equal[0].id, line.amount)], confidence, "amount", reason, known_by)
    subsets = combinations(
        [index.remaining[i.id] for i in invoices[: options.max_combination_invoices]], line.amount,
        options.max_combination_steps,
    )
    if subsets:
        chosen = [invoices[k] for k in subsets[0]]
        confidence = base - 5 if len(subsets) == 1 else CONFIDENCE["ambiguous"]
        reason = Reason(BY_COMBINATION, numbers=", ".join(i.number for i in chosen))
        allocations = [(i.id, index.remaining[i.id]) for i in chosen]
        return _proposal(line, customer_id, allocations, confidence, "combination", reason, known_by)
    if not options.oldest_first:
        reason = Reason(NO_FIT)
        return Proposal(line.id, customer_id, [], CONFIDENCE["ambiguous"], "none", reason, known_by)
    reason = Reason(OLDEST_FIRST)
    return _allocate(line, index, [i.id for i in invoices], CONFIDENCE["oldest"], "oldest", reason, known_by,
                     customer_id)


def _allocate(line: BankLine, index: InvoiceIndex, ids: list[int], confidence: int, rule: str, reason: Reason,
              known_by: str = "", customer_id: int | None = None) -> Proposal:
    """The payment spread over these invoices in order, each up to its remaining balance; the rest is credit."""
    left = line.amount
    allocations = []
    for invoice_id in ids:
        if left <= 0:
            break
        amount = min(left, index.remaining[invoice_id])
        if amount > 0:
            allocations.append((invoice_id, amount))
            left -= amount
    asked = sum((index.remaining[i] for i in ids), ZERO)
    if rule in ("rf", "number") and asked != line.amount:
        confidence -= 10  # the reference is right but the amount is not the balance: a person may look
    if customer_id is None and ids:
        customer_id = index.by_id[ids[0]].customer_id
    return _proposal(line, customer_id, allocations, confidence, rule, reason, known_by)


def _proposal(line: BankLine, customer_id: int | None, allocations: list[tuple[int, Decimal]], confidence: int,
              rule: str, reason: Reason, known_by: str = "") -> Proposal:
    proposal = Proposal(line.id, customer_id, allocations, confidence, rule, reason, known_by)
    rest = line.amount - proposal.allocated
    if rest > 0 and allocations:
        proposal.reason.also(LEFT_AS_CREDIT, amount=rest, currency=line.currency)
    return proposal


def combinations(amounts: list[Decimal], target: Decimal, max_steps: int) -> list[tuple[int, ...]]:
    """Up to two index sets of `amounts` summing exactly to `target` (earlier amounts preferred), found
    within `max_steps` steps of a depth-first search; [] when none is found in that budget."""
    cents = [int(a * 100) for a in amounts]
    goal = int(target * 100)
    suffix = [0] * (len(cents) + 1)
    for k in range(len(cents) - 1, -1, -1):
        suffix[k] = suffix[k + 1] + cents[k]
    if goal > suffix[0] or goal <= 0:
        return []
    found: list[tuple[int, ...]] = []
    steps = 0
    stack: list[tuple[int, int, tuple[int, ...]]] = [(0, 0, ())]
    while stack and len(found) < 2:
        start, total, chosen = stack.pop()
        steps += 1
        if steps > max_steps:
            break
        if total == goal and len(chosen) > 1:
            found.append(chosen)
            continue
        if start >= len(cents) or total + suffix[start] < goal:
            continue
        # Skip start, then take it (pushed last: explored first, so older invoices come first).
        stack.append((start + 1, total, chosen))
        if total + cents[start] <= goal:
            stack.append((start + 1, total + cents[start], chosen + (start,)))
    return found


def payer_keys(line: BankLine) -> tuple[str, str]:
    """(IBAN, name) of a bank line as stored when learnt."""
    return normalise_iban(line.payer_iban), normalise_name(line.payer_name)


__all__ = ["BankLine", "InvoiceIndex", "KnownPayers", "OpenInvoice", "Options", "Proposal", "combinations",
           "compact", "match_payments", "payer_keys"]
