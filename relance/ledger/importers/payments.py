"""Import of payments: upsert by bank transaction id, else external id, else date+amount+reference+customer.

A payment naming an invoice is allocated to it through `relance.ledger.balances`, up to what
the invoice still owes; the rest stays unallocated for matching later.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.utils.translation import pgettext, pgettext_lazy

from relance.accounts.models import Organisation
from relance.ledger import balances
from relance.ledger.importers.columns import Column, Slot, labels
from relance.ledger.importers.fields import (
    parse_currency,
    parse_date,
    parse_iban,
    parse_method,
    parse_money,
    text_parser,
)
from relance.ledger.importers.keys import KeyMap
from relance.ledger.importers.result import ImportResult
from relance.ledger.models import (
    Allocation,
    AllocationSource,
    Customer,
    ImportBatch,
    Invoice,
    Payment,
    PaymentMethod,
)
from relance.lib.bulk import BulkInsert
from relance.lib.money import ZERO

COLUMNS = [
    Column("date", "Date", ("Date de paiement", "Date de règlement", "Date du règlement", "Payment date",
           "Date valeur", "Value date"), parse_date, required=True, title=pgettext_lazy("import column", "Date")),
    Column("amount", "Montant", ("Amount", "Montant payé", "Montant réglé", "Montant du règlement", "Crédit",
           "Credit"), parse_money, required=True, title=pgettext_lazy("import column", "Amount")),
    Column("customer", "Client", ("Code client", "Customer", "Customer id", "N° client", "Compte client"),
           text_parser(64), title=pgettext_lazy("import column", "Customer")),
    Column("invoice", "Facture", ("Numéro de facture", "N° facture", "Invoice", "Invoice number"), text_parser(64),
           title=pgettext_lazy("import column", "Invoice")),
    Column("reference", "Référence", ("Reference", "Réf", "Ref", "Libellé", "Label"), text_parser(200),
           title=pgettext_lazy("import column", "Reference")),
    Column("method", "Mode de paiement", ("Mode", "Mode de règlement", "Moyen de paiement", "Method", "Payment method"),
           parse_method, title=pgettext_lazy("import column", "Payment method")),
    Column("payer_name", "Payeur", ("Nom du payeur", "Payer", "Payer name", "Donneur d'ordre"), text_parser(200),
           title=pgettext_lazy("import column", "Payer")),
    Column("payer_iban", "IBAN", ("IBAN payeur", "IBAN du payeur", "Payer IBAN"), parse_iban,
           title=pgettext_lazy("import column", "IBAN")),
    Column("bank_transaction_id", "Identifiant bancaire", ("Id transaction", "Identifiant de transaction",
           "Transaction id", "Bank transaction id", "Référence bancaire"), text_parser(100),
           title=pgettext_lazy("import column", "Bank transaction id")),
    Column("external_id", "Code paiement", ("Identifiant paiement", "N° de règlement", "Payment id",
           "External id"), text_parser(64), title=pgettext_lazy("import column", "Payment id")),
    Column("currency", "Devise", ("Currency",), parse_currency, title=pgettext_lazy("import column", "Currency")),
]

_COMPARED = ("date", "amount", "currency", "customer", "reference", "method", "payer_name", "payer_iban")


def check_payment(values: dict, default_currency: str) -> list[tuple[str, str]]:
    """Cross-field rules of one row; completes currency and blank texts. Pure."""
    problems = []
    if values["amount"] <= 0:
        problems.append(("amount", pgettext("import", "the amount of a payment must be positive")))
    values.setdefault("currency", default_currency)
    for name in ("reference", "payer_name", "payer_iban", "external_id"):
        values.setdefault(name, "")
    return problems


class PaymentImporter:
    kind = "payments"
    columns = COLUMNS

    def __init__(self, org: Organisation, batch: ImportBatch, result: ImportResult, slots: list[Slot]):
        self.org, self.batch, self.result = org, batch, result
        self.present = {s.field for s in slots}
        self.label = labels(slots, COLUMNS)
        self.customers = dict(Customer.objects.filter(organisation=org).values_list("external_id", "id"))
        self.seen_bank = KeyMap()  # identifier -> first line
        self.seen_external = KeyMap()
        # The n-th identical (date, amount, reference, customer) row of the file is the n-th such payment.
        self.occurrences = KeyMap()
        self.inserter: BulkInsert | None = None
        self.last_id = 0

    def process(self, rows: list[tuple[int, dict]]) -> None:
        result = self.result
        invoices = self._invoices({v["invoice"] for _, v in rows if "invoice" in v})
        good = []
        for line, values in rows:
            problems = check_payment(values, self.org.currency) + self._resolve(line, values, invoices)
            for field, message in problems:
                result.add_error(line, self.label[field], message)
            if not problems:
                good.append((line, values))
        existing = self._existing([v for _, v in good])
        if not result.ok:
            return
        self._create([v for _, v in good if id(v) not in existing], invoices)
        found = [(line, v, existing[id(v)]) for line, v in good if id(v) in existing]
        allocations: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        for payment_id, invoice_id, amount in Allocation.objects.filter(
            payment_id__in=[p.pk for _, _, p in found]
        ).values_list("payment_id", "invoice_id", "amount"):
            allocations[payment_id].append((invoice_id, amount))
        for line, values, payment in found:
            self._update(line, values, payment, invoices.get(values.get("invoice")), allocations[payment.pk])

    def _resolve(self, line: int, values: dict, invoices: dict[str, Invoice]) -> list[tuple[str, str]]:
        problems = []
        code = values.pop("customer", None)
        values["customer"] = None
        if code is not None:
            values["customer"] = self.customers.get(code)
            if values["customer"] is None:
                problems.append(("customer", pgettext("import", "unknown customer: %(code)s") % {"code": code}))
        number = values.get("invoice")
        if number is not None:
            invoice = invoices.get(number)
            if invoice is None:
                problems.append(("invoice", pgettext("import", "unknown invoice: %(number)s") % {"number": number}))
            else:
                if values["customer"] is None and code is None:
                    values["customer"] = invoice.customer_id
                elif values["customer"] is not None and invoice.customer_id != values["customer"]:
                    problems.append(("invoice", pgettext(
                        "import", "the invoice %(number)s is not the customer %(code)s's")
                        % {"number": number, "code": code}))
                if invoice.currency != values["currency"]:
                    problems.append(("currency", pgettext("import", "currency %(currency)s differs from the invoice's "
                                                          "(%(invoice)s)")
                                     % {"currency": values["currency"], "invoice": invoice.currency}))
        for name, seen in (("bank_transaction_id", self.seen_bank), ("external_id", self.seen_external)):
            key = values.get(name)
            if key:
                if key in seen:
                    problems.append((name, pgettext("import", "duplicate identifier (already line %(line)s)")
                                     % {"line": seen[key]}))
                else:
                    seen[key] = line
        return problems

    def _invoices(self, numbers: set[str]) -> dict[str, Invoice]:
        found: dict[str, Invoice] = {}
        numbers_list = list(numbers)
        for start in range(0, len(numbers_list), 900):
            query = Invoice.objects.filter(organisation=self.org, number__in=numbers_list[start:start + 900]).order_by()
            found.update((i.number, i) for i in query.only("id", "number", "customer_id", "currency", "open_balance"))
        return found

    def _existing(self, rows: list[dict]) -> dict[int, Payment]:
        """The stored payment each row is, keyed by id() of the row."""
        org = self.org
        by_bank = {v["bank_transaction_id"]: v for v in rows if v.get("bank_transaction_id")}
        by_external = {v["external_id"]: v for v in rows if not v.get("bank_transaction_id") and v["external_id"]}
        by_tuple = [v for v in rows if not v.get("bank_transaction_id") and not v["external_id"]]
        found: dict[int, Payment] = {}
        for field, wanted in (("bank_transaction_id", by_bank), ("external_id", by_external)):
            keys = list(wanted)
            for start in range(0, len(keys), 900):
                query = Payment.objects.filter(organisation=org, **{f"{field}__in": keys[start:start + 900]})
                for payment in query:
                    found[id(wanted[getattr(payment, field)])] = payment
        if by_tuple:
            candidates: dict[tuple, list[Payment]] = defaultdict(list)
            dates = sorted({v["date"] for v in by_tuple})
            for start in range(0, len(dates), 900):
                query = Payment.objects.filter(
                    organisation=org, date__in=dates[start:start + 900], bank_transaction_id__isnull=True,
                    external_id="",
                ).order_by("pk")
                for payment in query:
                    key = (payment.date, payment.amount, payment.reference, payment.customer_id)
                    candidates[key].append(payment)
            for v in by_tuple:
                key = (v["date"], v["amount"], v["reference"], v["customer"])
                n = self.occurrences.get(key, 0)
                self.occurrences[key] = n + 1
                if n < len(candidates[key]):
                    found[id(v)] = candidates[key][n]
        return found

    def _create(self, new: list[dict], invoices: dict[str, Invoice]) -> None:
        """Insert the new payments of a chunk in bulk, then their allocations, then refresh the invoices."""
        if not new:
            return
        if self.inserter is None:
            self.inserter = BulkInsert(Payment, (
                "organisation", "customer", "date", "amount", "currency", "method", "reference", "payer_name",
                "payer_iban", "bank_transaction_id", "external_id", "source_import"))
        org_id, batch_id, transfer = self.org.pk, self.batch.pk, PaymentMethod.TRANSFER.value
        self.inserter.insert([
            (org_id, v["customer"], v["date"], v["amount"], v["currency"], v.get("method", transfer),
             v["reference"], v["payer_name"], v["payer_iban"], v.get("bank_transaction_id") or None,
             v["external_id"], batch_id)
            for v in new
        ])
        # Ids follow the insertion order, and no one else writes rows of this batch.
        ids = list(Payment.objects.filter(source_import=self.batch, pk__gt=self.last_id).order_by("pk").values_list(
            "pk", flat=True))
        if len(ids) != len(new):
            raise RuntimeError(f"import {batch_id}: {len(ids)} payments found for {len(new)} written")
        self.last_id = ids[-1]
        self.result.created += len(new)
        owed = {invoice.pk: invoice.open_balance for invoice in invoices.values()}
        rows = []
        for payment_id, values in zip(ids, new, strict=True):
            invoice = invoices.get(values.get("invoice"))
            if invoice is not None:
                # Up to what the invoice still owes; the rest waits for matching.
                amount = min(values["amount"], owed[invoice.pk])
                if amount > 0:
                    rows.append((invoice.pk, AllocationSource.PAYMENT.value, payment_id, amount))
                    owed[invoice.pk] -= amount
        if rows:
            BulkInsert(Allocation, ("invoice", "source", "payment", "amount")).insert(rows)
            # The balances module recomputes open balance and status from the allocations.
            balances.refresh({row[0] for row in rows})

    def _update(self, line: int, values: dict, old: Payment, invoice: Invoice | None,
                allocations: list[tuple[int, Decimal]]) -> None:
        """A payment already known: rewrite what the file changed, allocate it if it names a new invoice."""
        result = self.result
        # Only what the file says is compared: a file without a method column keeps the stored one.
        given = self.present | ({"customer"} if "invoice" in self.present else set())
        fields = {("customer_id" if f == "customer" else f): values[f] for f in _COMPARED if f in values and f in given}
        changed = [f for f, v in fields.items() if getattr(old, f) != v]
        allocated = sum((amount for _, amount in allocations), ZERO)
        if "amount" in changed and allocated > fields["amount"]:
            result.add_error(line, self.label["amount"], pgettext("import", "the payment is already allocated for "
                                                                  "%(amount)s") % {"amount": allocated})
            return
        for f in changed:
            setattr(old, f, fields[f])
        if changed:
            old.save(update_fields=changed)
        known = {invoice_id for invoice_id, _ in allocations}
        allocated_now = invoice is not None and invoice.pk not in known and self._allocate(old, invoice, line)
        if changed or allocated_now:
            result.updated += 1
        else:
            result.unchanged += 1

    def _allocate(self, payment: Payment, invoice: Invoice, line: int) -> bool:
        """Allocate what the payment still holds, up to what the invoice still owes."""
        owed = Invoice.objects.values_list("open_balance", flat=True).get(pk=invoice.pk)
        amount = min(balances.payment_unallocated(payment), owed)
        if amount <= ZERO:
            return False
        try:
            balances.allocate(invoice, amount, payment=payment)
        except balances.AllocationError as exc:
            self.result.add_error(line, self.label["invoice"], str(exc))
            return False
        return True

    def finish(self) -> None:
        pass
