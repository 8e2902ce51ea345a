"""Import of invoices: upsert by number, "Déjà payé" as an external allocation, customers created on the fly."""

from __future__ import annotations

from decimal import Decimal

from django.db import connections, router
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy

from relance.accounts.models import Organisation
from relance.law.payment_terms import terms_warning
from relance.ledger import balances, totals
from relance.ledger.importers.columns import Column, Slot, labels
from relance.ledger.importers.fields import MAX_AMOUNT, parse_currency, parse_date, parse_money, text_parser
from relance.ledger.importers.keys import KeyMap
from relance.ledger.importers.result import ImportResult
from relance.ledger.models import Allocation, AllocationSource, Customer, ImportBatch, Invoice
from relance.lib.bulk import BulkInsert, update_rows
from relance.lib.money import ZERO, MoneySum

COLUMNS = [
    Column("number", "Numéro de facture", ("Invoice number", "N° facture", "N° de facture", "Numéro", "Facture",
           "Invoice", "Invoice no", "Number", "Pièce", "N° pièce"), text_parser(64), required=True,
           title=pgettext_lazy("import column", "Invoice number")),
    Column("customer", "Client", ("Code client", "Customer", "Customer id", "Customer code", "N° client",
           "Numéro client", "Compte client"), text_parser(64), required=True,
           title=pgettext_lazy("import column", "Customer")),
    Column("customer_name", "Nom client", ("Customer name", "Raison sociale", "Nom", "Name", "Nom du client"),
           text_parser(200), title=pgettext_lazy("import column", "Customer name")),
    Column("issue_date", "Date de facture", ("Invoice date", "Date facture", "Date d'émission", "Date",
           "Issue date", "Date de pièce"), parse_date, required=True,
           title=pgettext_lazy("import column", "Invoice date")),
    Column("due_date", "Date d'échéance", ("Due date", "Échéance", "Date échéance", "Due"), parse_date,
           required=True, title=pgettext_lazy("import column", "Due date")),
    Column("amount_excl_tax", "Montant HT", ("Amount excl. tax", "HT", "Total HT", "Net amount",
           "Amount excluding tax"), parse_money, title=pgettext_lazy("import column", "Amount excl. tax")),
    Column("tax", "TVA", ("Tax", "Montant TVA", "VAT", "VAT amount", "Tax amount"), parse_money,
           title=pgettext_lazy("import column", "VAT")),
    Column("total", "Montant TTC", ("Total incl. tax", "TTC", "Total TTC", "Total", "Montant", "Amount",
           "Gross amount", "Amount incl. tax"), parse_money, title=pgettext_lazy("import column", "Total incl. tax")),
    Column("currency", "Devise", ("Currency", "Monnaie"), parse_currency,
           title=pgettext_lazy("import column", "Currency")),
    Column("paid", "Déjà payé", ("Paid amount", "Payé", "Montant payé", "Montant réglé", "Réglé", "Paid"),
           parse_money, title=pgettext_lazy("import column", "Already paid")),
    Column("external_id", "Identifiant externe", ("External id", "Référence externe", "Id"), text_parser(64),
           title=pgettext_lazy("import column", "External id")),
]

# Compared and rewritten on re-import; "paid" is handled through the allocations.
_UPDATABLE = ("customer", "issue_date", "due_date", "currency", "amount_excl_tax", "tax", "total", "external_id")


def check_invoice(values: dict, default_currency: str) -> list[tuple[str, str]]:
    """Cross-field rules of one row; completes HT/TVA/TTC and currency in `values`. Pure."""
    problems = []
    ht, tax, ttc = values.get("amount_excl_tax"), values.get("tax"), values.get("total")
    if ttc is None and ht is None:
        problems.append(("total", pgettext("import", "amount incl. or excl. tax required")))
        return problems
    if ttc is None:
        ttc = values["total"] = ht + (tax or ZERO)
    elif ht is not None and tax is not None and ht + tax != ttc:
        problems.append(("total", pgettext("import", "the total incl. tax (%(total)s) is not the amount excl. tax "
                                           "(%(net)s) plus the VAT (%(tax)s)") % {"total": ttc, "net": ht, "tax": tax}))
    elif ht is None:
        values["amount_excl_tax"] = ttc - (tax or ZERO)
    elif tax is None:
        values["tax"] = ttc - ht
    values.setdefault("tax", ZERO)
    for name in ("amount_excl_tax", "tax", "total"):
        amount = values.get(name, ZERO)
        if amount < 0:
            problems.append((name, pgettext("import", "negative amount (a negative invoice is a credit note)")))
        elif amount >= MAX_AMOUNT:  # a total derived from HT + TVA, beyond what the column holds
            problems.append((name, pgettext("import", "amount too large: %(value)s") % {"value": amount}))
    paid = values.get("paid")
    if paid is not None and (paid < 0 or paid > ttc):
        problems.append(("paid", pgettext("import", "the amount already paid (%(paid)s) must be between 0 and the "
                                          "total incl. tax (%(total)s)") % {"paid": paid, "total": ttc}))
    issue, due = values.get("issue_date"), values.get("due_date")
    if issue is not None and due is not None and due < issue:
        problems.append(("due_date", pgettext("import", "the due date is before the invoice date")))
    values.setdefault("currency", default_currency)
    values.setdefault("external_id", "")
    return problems


class InvoiceImporter:
    kind = "invoices"
    columns = COLUMNS

    def __init__(self, org: Organisation, batch: ImportBatch, result: ImportResult, slots: list[Slot]):
        self.org, self.batch, self.result = org, batch, result
        present = {s.field for s in slots}
        # Fields the file gives, directly or as the difference of two others: only those are
        # compared and rewritten on re-import (a file with TTC only must not zero HT and TVA).
        if "amount_excl_tax" in present:
            present.add("total")
        if {"total", "tax"} <= present:
            present.add("amount_excl_tax")
        if {"total", "amount_excl_tax"} <= present:
            present.add("tax")
        self.present = present
        self.compared = [f for f in _UPDATABLE if f in present]
        self.label = labels(slots, COLUMNS)
        # Compact maps: code client -> id (None while only planned), number -> first line.
        self.customers: dict[str, int | None] = dict(
            Customer.objects.filter(organisation=org).values_list("external_id", "id").iterator(chunk_size=10_000)
        )
        self.seen = KeyMap()  # number -> first line
        self.new_customers: dict[str, str] = {}  # code -> name, created with the next write
        self.lookup_existing = Invoice.objects.filter(organisation=org).exists()
        self.inserter: BulkInsert | None = None
        self.customers_created = 0

    def process(self, rows: list[tuple[int, dict]]) -> None:
        """Validate a chunk of parsed rows against the file so far and the database, then write it."""
        result, seen, customers = self.result, self.seen, self.customers
        default_currency = self.org.currency
        good = []
        for line, values in rows:
            problems = check_invoice(values, default_currency)
            number = values["number"]
            first = seen.get(number)
            if first is not None:
                problems.append(("number", pgettext("import", "duplicate invoice number (already line %(line)s)")
                                 % {"line": first}))
            else:
                seen[number] = line
            code = values["customer"]
            if code not in customers and code not in self.new_customers:
                name = values.get("customer_name")
                if name:
                    self.new_customers[code] = name
                else:
                    problems.append(("customer", pgettext(
                        "import", "unknown customer: %(code)s (add a column « Customer name » to create it, or import "
                        "the customers first)") % {"code": code}))
            if problems:
                for field, message in problems:
                    result.add_error(line, self.label[field], message)
            else:
                good.append((line, values))
                issue, due = values.get("issue_date"), values.get("due_date")
                warning = terms_warning(issue, due) if issue and due else None
                if warning:
                    result.add_warning(line, self.label["due_date"], warning)
        if self.lookup_existing:
            self._flush()
            existing = self._existing([v["number"] for _, v in good])
        else:
            existing = {}
        new, changed = [], []
        for line, values in good:
            old = existing.get(values["number"])
            if old is None:
                new.append(values)
                continue
            paid = values.get("paid", ZERO) if "paid" in self.present else old["ext"]
            other = old["total"] - old["open_balance"] - old["ext"]  # payments and credit notes
            total = values.get("total", old["total"])
            if paid + other > total:
                result.add_error(line, self.label["paid"], pgettext(
                    "import", "already paid (%(paid)s) plus the allocated payments (%(other)s) exceed the total incl. "
                    "tax (%(total)s)") % {"paid": paid, "other": other, "total": total})
                continue
            values["paid"] = paid
            customer_changed = customers.get(values["customer"]) != old["customer"]
            if customer_changed or paid != old["ext"] or any(values[f] != old[f] for f in self.compared[1:]):
                changed.append((values, old))
            else:
                result.unchanged += 1
        if result.ok:
            self._write(new, changed)

    def _existing(self, numbers: list[str]) -> dict[str, dict]:
        found = {}
        fields = ("id", "number", "customer_id", "issue_date", "due_date", "currency", "amount_excl_tax", "tax",
                  "total", "open_balance", "external_id")
        external = MoneySum("allocations__amount", filter=Q(allocations__source=AllocationSource.EXTERNAL))
        for start in range(0, len(numbers), 900):
            # No ORDER BY: with the model's ordering SQLite walks the due-date index instead of the number one.
            query = Invoice.objects.filter(organisation=self.org, number__in=numbers[start:start + 900]).order_by()
            for row in query.annotate(ext=external).values(*fields, "ext"):
                row["customer"] = row.pop("customer_id")
                row["ext"] = row["ext"] or ZERO
                found[row["number"]] = row
        return found

    def _flush(self) -> None:
        if self.inserter is not None:
            self.inserter.flush()

    def _write(self, new: list[dict], changed: list[tuple[dict, dict]]) -> None:
        if self.new_customers:
            self._flush()
            self._create_customers()
        customers, batch_id, org_id = self.customers, self.batch.pk, self.org.pk
        if new:
            if self.inserter is None:
                self.inserter = BulkInsert(Invoice, (
                    "organisation", "customer", "number", "issue_date", "due_date", "currency", "amount_excl_tax",
                    "tax", "total", "open_balance", "status", "external_id", "source_import"))
            opening, status_for = balances.opening_balance, balances.status_for
            rows = []
            for v in new:
                total = v["total"]
                balance = opening(total, v.get("paid") or ZERO)
                rows.append((org_id, customers[v["customer"]], v["number"], v["issue_date"], v["due_date"],
                             v["currency"], v["amount_excl_tax"], v["tax"], total, balance,
                             status_for(total, balance), v.get("external_id", ""), batch_id))
            # Kept open while nothing else needs the connection (a first import): see BulkInsert.
            self.inserter.insert(rows, keep_open=True)
            self.result.created += len(new)
        if changed:
            self._flush()
            self._update(changed)

    def _update(self, changed: list[tuple[dict, dict]]) -> None:
        fields, customers = self.compared, self.customers
        rows = []
        for values, old in changed:
            values["customer"] = customers[values["customer"]]
            rows.append((*(values.get(f, old[f]) for f in fields), old["id"]))
        ids = [old["id"] for _, old in changed]
        with totals.tracking(ids):  # due dates, customers and amounts may all change
            update_rows(Invoice, fields, rows)
            Allocation.objects.filter(invoice_id__in=ids, source=AllocationSource.EXTERNAL).delete()
            self._add_external({old["number"]: old["id"] for _, old in changed},
                               {old["number"]: values["paid"] for values, old in changed if values["paid"] > 0})
            # The balances module recomputes open balance and status from the allocations.
            balances.refresh(ids)
        self.result.updated += len(changed)

    def _add_external(self, ids: dict[str, int], paid: dict[str, Decimal]) -> None:
        if paid:
            BulkInsert(Allocation, ("invoice", "source", "amount")).insert(
                [(ids[number], AllocationSource.EXTERNAL.value, amount) for number, amount in paid.items()]
            )

    def _create_customers(self) -> None:
        if not self.new_customers:
            return
        org = self.org
        BulkInsert(Customer, ("organisation", "external_id", "name", "language", "country")).insert(
            [(org.pk, code, name, org.language, org.country) for code, name in self.new_customers.items()]
        )
        codes = list(self.new_customers)
        for start in range(0, len(codes), 900):
            self.customers.update(Customer.objects.filter(
                organisation=self.org, external_id__in=codes[start:start + 900]).order_by().values_list(
                    "external_id", "id"))
        self.customers_created += len(codes)
        self.new_customers.clear()

    def finish(self) -> None:
        self._flush()
        self.result.extra["customers_created"] = self.customers_created + len(self.new_customers)
        if self.result.ok and self.result.created:
            self._add_opening_payments()

    def _add_opening_payments(self) -> None:
        """The "Déjà payé" of the new invoices as external allocations, in one statement.

        New rows were written with open_balance = opening_balance(total, paid), so what was paid
        is total - open_balance: this restores open_balance == total - allocations for all of them.
        """
        connection = connections[router.db_for_write(Allocation)]
        qn = connection.ops.quote_name

        def a(name: str) -> str:
            return qn(Allocation._meta.get_field(name).column)

        def i(name: str) -> str:
            return qn(Invoice._meta.get_field(name).column)

        now = Allocation._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
        sql = (
            f"INSERT INTO {qn(Allocation._meta.db_table)} ({a('invoice')}, {a('source')}, {a('amount')}, "
            f"{a('created_at')}) SELECT {i('id')}, %s, ROUND({i('total')} - {i('open_balance')}, 2), %s "
            f"FROM {qn(Invoice._meta.db_table)} WHERE {i('source_import')} = %s AND {i('open_balance')} < {i('total')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [AllocationSource.EXTERNAL.value, now, self.batch.pk])

