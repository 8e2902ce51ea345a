"""Import of credit notes (CSV/XLSX): upsert by number, applied to the invoice a row names, else customer credit.

Credit notes are few next to invoices: rows are written through the ORM and applied one by one by
`relance.ledger.credit_notes` (which allocates through `relance.ledger.balances`).
"""

from __future__ import annotations

from django.utils.translation import pgettext, pgettext_lazy

from relance.accounts.models import Organisation
from relance.ledger.credit_notes import apply_credit_note, withdraw_credit_note
from relance.ledger.importers.columns import Column, Slot, labels
from relance.ledger.importers.fields import parse_currency, parse_date, parse_money, text_parser
from relance.ledger.importers.keys import KeyMap
from relance.ledger.importers.result import ImportResult
from relance.ledger.models import CreditNote, Customer, ImportBatch, Invoice

COLUMNS = [
    Column("number", "Numéro d'avoir", ("Avoir", "N° avoir", "N° d'avoir", "Credit note", "Credit note number",
           "Number", "Numéro"), text_parser(64), required=True,
           title=pgettext_lazy("import column", "Credit note number")),
    Column("date", "Date", ("Date d'avoir", "Date de l'avoir", "Credit note date", "Issue date"), parse_date,
           required=True, title=pgettext_lazy("import column", "Date")),
    Column("customer", "Client", ("Code client", "Customer", "Customer id", "N° client", "Compte client"),
           text_parser(64), title=pgettext_lazy("import column", "Customer")),
    Column("amount", "Montant", ("Montant TTC", "Total TTC", "Total", "Amount", "Amount incl. tax"), parse_money,
           required=True, title=pgettext_lazy("import column", "Amount")),
    Column("invoice", "Facture", ("Numéro de facture", "N° facture", "Facture d'origine", "Invoice",
           "Invoice number"), text_parser(64), title=pgettext_lazy("import column", "Invoice")),
    Column("currency", "Devise", ("Currency", "Monnaie"), parse_currency,
           title=pgettext_lazy("import column", "Currency")),
]

_COMPARED = ("customer_id", "date", "currency", "total", "invoice_id")


class CreditNoteImporter:
    kind = "credit-notes"
    columns = COLUMNS

    def __init__(self, org: Organisation, batch: ImportBatch, result: ImportResult, slots: list[Slot]):
        self.org, self.batch, self.result = org, batch, result
        self.label = labels(slots, COLUMNS)
        self.customers = dict(Customer.objects.filter(organisation=org).values_list("external_id", "id"))
        self.seen = KeyMap()  # number -> first line

    def process(self, rows: list[tuple[int, dict]]) -> None:
        numbers = {v["invoice"] for _, v in rows if "invoice" in v}
        invoices = {i.number: i for i in Invoice.objects.filter(organisation=self.org, number__in=numbers)}
        good = []
        for line, values in rows:
            problems = self._check(line, values, invoices)
            for field, message in problems:
                self.result.add_error(line, self.label[field], message)
            if not problems:
                good.append(values)
        if not self.result.ok:
            return
        existing = {n.number: n for n in CreditNote.objects.filter(
            organisation=self.org, number__in=[v["number"] for v in good])}
        for values in good:
            self._write(values, existing.get(values["number"]))

    def _check(self, line: int, values: dict, invoices: dict[str, Invoice]) -> list[tuple[str, str]]:
        problems = []
        values.setdefault("currency", self.org.currency)
        if values["amount"] <= 0:
            problems.append(("amount", pgettext("import", "the amount of a credit note must be positive")))
        first = self.seen.get(values["number"])
        if first is not None:
            problems.append(("number", pgettext("import", "duplicate credit note number (already line %(line)s)")
                             % {"line": first}))
        else:
            self.seen[values["number"]] = line
        code = values.get("customer")
        customer = self.customers.get(code) if code is not None else None
        if code is not None and customer is None:
            problems.append(("customer", pgettext("import", "unknown customer: %(code)s") % {"code": code}))
        invoice = None
        if "invoice" in values:
            invoice = invoices.get(values["invoice"])
            if invoice is None:
                problems.append(("invoice", pgettext("import", "unknown invoice: %(number)s")
                                 % {"number": values["invoice"]}))
            else:
                if code is None:
                    customer = invoice.customer_id
                elif customer is not None and customer != invoice.customer_id:
                    problems.append(("invoice", pgettext(
                        "import", "the invoice %(number)s is not the customer %(code)s's")
                        % {"number": invoice.number, "code": code}))
                if invoice.currency != values["currency"]:
                    problems.append(("currency", pgettext("import", "currency %(currency)s differs from the invoice's "
                                                          "(%(invoice)s)")
                                     % {"currency": values["currency"], "invoice": invoice.currency}))
        elif code is None:
            problems.append(("customer", pgettext("import", "customer or invoice required")))
        values["customer_id"], values["invoice_id"] = customer, invoice.pk if invoice is not None else None
        values["total"] = values["amount"]
        return problems

    def _write(self, values: dict, note: CreditNote | None) -> None:
        if note is None:
            note = CreditNote.objects.create(
                organisation=self.org, number=values["number"], source_import=self.batch,
                **{f: values[f] for f in _COMPARED})
            self.result.created += 1
        else:
            changed = [f for f in _COMPARED if getattr(note, f) != values[f]]
            if not changed:
                self.result.unchanged += 1
                return
            withdraw_credit_note(note)
            for f in changed:
                setattr(note, f, values[f])
            note.save(update_fields=changed)
            self.result.updated += 1
        apply_credit_note(note)

    def finish(self) -> None:
        pass
