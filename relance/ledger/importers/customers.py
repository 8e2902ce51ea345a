"""Import of customers (debtors): upsert by code client; e-mail and phone columns become billing contacts."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy

from relance.accounts.models import Organisation
from relance.ledger.importers.columns import Column, Slot, labels
from relance.ledger.importers.fields import (
    FieldError,
    parse_bool,
    parse_civility,
    parse_country,
    parse_date,
    parse_email,
    parse_insolvency_kind,
    parse_kind,
    parse_language,
    parse_phone,
    parse_phone_text,
    parse_siren,
    parse_siret,
    parse_tags,
    parse_vat,
    text_parser,
)
from relance.ledger.importers.keys import KeyMap
from relance.ledger.importers.result import ImportResult
from relance.ledger.models import Contact, ContactRole, Customer, ImportBatch
from relance.lib.bulk import BulkInsert, update_rows

COLUMNS = [
    Column("external_id", "Code client", ("Customer id", "Customer code", "N° client", "Numéro client", "Client id",
           "Compte client", "Code"), text_parser(64), required=True,
           title=pgettext_lazy("import column", "Customer code")),
    Column("name", "Raison sociale", ("Nom", "Name", "Customer name", "Nom client", "Company name", "Société"),
           text_parser(200), title=pgettext_lazy("import column", "Company name")),
    Column("siren", "SIREN", (), parse_siren, title=pgettext_lazy("import column", "SIREN")),
    Column("siret", "SIRET", (), parse_siret, title=pgettext_lazy("import column", "SIRET")),
    Column("vat_number", "N° TVA", ("TVA intracommunautaire", "Numéro de TVA", "VAT number", "VAT"), parse_vat,
           title=pgettext_lazy("import column", "VAT number")),
    Column("kind", "Type", ("Type de client", "Kind", "Customer type", "Catégorie"), parse_kind,
           title=pgettext_lazy("import column", "Customer type")),
    Column("email", "E-mail", ("Email", "Courriel", "Adresse e-mail", "Mail", "E-mail de facturation",
           "Billing email"), parse_email, title=pgettext_lazy("import column", "E-mail")),
    Column("phone", "Téléphone", ("Phone", "Tél", "Tel", "Telephone", "Phone number", "Mobile"), parse_phone_text,
           title=pgettext_lazy("import column", "Phone")),
    Column("address_line1", "Adresse", ("Address", "Adresse 1", "Adresse ligne 1", "Address line 1", "Rue"),
           text_parser(200), title=pgettext_lazy("import column", "Address")),
    Column("address_line2", "Complément d'adresse", ("Adresse 2", "Adresse ligne 2", "Address line 2"),
           text_parser(200), title=pgettext_lazy("import column", "Address line 2")),
    Column("postcode", "Code postal", ("Postcode", "Postal code", "Zip", "Zip code", "CP"), text_parser(20),
           title=pgettext_lazy("import column", "Postcode")),
    Column("city", "Ville", ("City", "Town", "Commune"), text_parser(100),
           title=pgettext_lazy("import column", "City")),
    Column("country", "Pays", ("Country",), parse_country, title=pgettext_lazy("import column", "Country")),
    Column("language", "Langue", ("Language", "Lang"), parse_language,
           title=pgettext_lazy("import column", "Language")),
    Column("strategic", "Stratégique", ("Strategic", "Client stratégique", "Key account"), parse_bool,
           title=pgettext_lazy("import column", "Strategic")),
    Column("collector", "Chargé de recouvrement", ("Collector", "Responsable", "Gestionnaire", "Assigned to"),
           text_parser(150), title=pgettext_lazy("import column", "Collector")),
    Column("notes", "Notes", ("Note", "Commentaire", "Commentaires", "Comments"), text_parser(10_000),
           title=pgettext_lazy("import column", "Notes")),
    Column("tags", "Étiquettes", ("Tags", "Tag", "Étiquette", "Labels"), parse_tags,
           title=pgettext_lazy("import column", "Tags")),
    Column("contact_name", "Contact", ("Contact name", "Nom du contact", "Interlocuteur"), text_parser(200),
           title=pgettext_lazy("import column", "Contact")),
    Column("contact_civility", "Civilité", ("Title", "Civility", "Civilité du contact"), parse_civility,
           title=pgettext_lazy("import column", "Title")),
    Column("in_insolvency", "Procédure collective", ("Insolvency", "En procédure collective"), parse_bool,
           title=pgettext_lazy("import column", "Insolvency proceedings")),
    Column("insolvency_date", "Date du jugement", ("Judgment date", "Judgement date", "Date de jugement",
           "Date du jugement d'ouverture"), parse_date, title=pgettext_lazy("import column", "Judgment date")),
    Column("insolvency_kind", "Type de procédure", ("Insolvency kind", "Procédure"), parse_insolvency_kind,
           title=pgettext_lazy("import column", "Kind of proceedings")),
]

# Model fields a customer row can set, and what an empty cell in a present column means.
_FIELDS = ("name", "siren", "siret", "vat_number", "kind", "address_line1", "address_line2", "postcode", "city",
           "country", "language", "strategic", "collector", "notes", "tags", "contact_name", "contact_civility",
           "in_insolvency", "insolvency_date", "insolvency_kind")
# Why an import turned a billing contact off: it may turn it back on; a bounce it must not.
REPLACED = "remplacé par un import"


def members(org: Organisation) -> dict[str, int]:
    """Username and e-mail (lower case) -> user id, for the people of this organisation."""
    found: dict[str, int] = {}
    for pk, username, email in get_user_model().objects.filter(memberships__organisation=org).values_list(
        "pk", "username", "email"
    ):
        found[username.lower()] = pk
        if email:
            found.setdefault(email.lower(), pk)
    return found


def check_customer(values: dict, people: dict[str, int], today: date) -> list[tuple[str, str]]:
    """Cross-field rules of one row: SIREN/SIRET agreement, phone region, collector, insolvency. Pure."""
    problems = check_insolvency(values, today)
    siren, siret = values.get("siren"), values.get("siret")
    if siren and siret and not siret.startswith(siren):
        problems.append(("siret", pgettext("import", "the SIRET %(siret)s does not start with the SIREN %(siren)s")
                         % {"siret": siret, "siren": siren}))
    elif siret and not siren:
        values["siren"] = siret[:9]
    if "phone" in values:
        try:
            values["phone"] = parse_phone(values["phone"], values.get("country", "FR"))
        except FieldError as exc:
            problems.append(("phone", str(exc)))
    if "collector" in values:
        user = people.get(values["collector"].lower())
        if user is None:
            problems.append(("collector", pgettext("import", "%(user)s is not a member of the organisation")
                             % {"user": values["collector"]}))
        values["collector"] = user
    return problems


def check_insolvency(values: dict, today: date) -> list[tuple[str, str]]:
    """A judgment date is required with "Procédure collective: oui", and is not in the future."""
    problems = []
    judged = values.get("insolvency_date")
    if judged is not None and judged > today:
        problems.append(("insolvency_date", pgettext("import", "judgment date in the future: %(date)s")
                         % {"date": f"{judged:%d/%m/%Y}"}))
    if values.get("in_insolvency"):
        if judged is None:
            problems.append(("insolvency_date",
                             pgettext("import", "judgment date required for insolvency proceedings")))
    else:
        for field in ("insolvency_date", "insolvency_kind"):
            if field in values:
                problems.append((field, pgettext(
                    "import", "given without insolvency proceedings (« Procédure collective: oui »)")))
    return problems


class CustomerImporter:
    kind = "customers"
    columns = COLUMNS

    def __init__(self, org: Organisation, batch: ImportBatch, result: ImportResult, slots: list[Slot]):
        self.org, self.batch, self.result = org, batch, result
        present = {s.field for s in slots}
        if "siret" in present:
            present.add("siren")  # derived from the SIRET when not given
        self.fields = [f for f in _FIELDS if f in present]
        self.contact_kinds = [k for k in ("email", "phone") if k in present]
        self.label = labels(slots, COLUMNS)
        self.people = members(org)
        self.empty = {
            "siren": "", "siret": "", "vat_number": "", "kind": "business", "address_line1": "", "address_line2": "",
            "postcode": "", "city": "", "country": org.country, "language": org.language, "strategic": False,
            "collector": None, "notes": "", "tags": [], "contact_name": "", "contact_civility": "",
            "in_insolvency": False, "insolvency_date": None, "insolvency_kind": "",
        }
        self.today = timezone.localdate()
        self.seen = KeyMap()  # code client -> first line
        self.inserter: BulkInsert | None = None

    def process(self, rows: list[tuple[int, dict]]) -> None:
        result = self.result
        good = []
        for line, values in rows:
            problems = check_customer(values, self.people, self.today)
            code = values["external_id"]
            if code in self.seen:
                problems.append(("external_id", pgettext("import", "duplicate customer code (already line %(line)s)")
                                 % {"line": self.seen[code]}))
            else:
                self.seen[code] = line
            for field, message in problems:
                result.add_error(line, self.label[field], message)
            if not problems:
                good.append((line, values))
        existing = self._existing([v["external_id"] for _, v in good])
        new, changed, contacts = [], [], []
        for line, values in good:
            old = existing.get(values["external_id"])
            wanted = {(k, v) for k in self.contact_kinds for v in _as_list(values.get(k))}
            if old is None:
                if not values.get("name"):
                    result.add_error(line, self.label["name"],
                                     pgettext("import", "company name required for a new customer"))
                    continue
                new.append(values)
                contacts.append((values["external_id"], wanted, {}))
                continue
            fields = {f: values.get(f, old[f] if f == "name" else self.empty[f]) for f in self.fields}
            if old["in_insolvency"] and "in_insolvency" in self.fields and not fields["in_insolvency"]:
                # Ending proceedings gives the earlier claims back to the scenario: the engine's action.
                if old["insolvency_date"]:
                    message = pgettext("import", "customer under insolvency proceedings since %(date)s: close them "
                                       "with « relance insolvency close »") % {
                        "date": f"{old['insolvency_date']:%d/%m/%Y}"}
                else:
                    message = pgettext("import", "customer under insolvency proceedings: close them with « relance "
                                       "insolvency close »")
                result.add_error(line, self.label["in_insolvency"], message)
                continue
            kinds = {k for k, _ in wanted}
            stale = {key: c for key, c in old["contacts"].items() if key[0] in kinds}
            contact_change = any(_contact_change(key, stale.get(key), wanted) for key in wanted | stale.keys())
            if any(fields[f] != old[f] for f in self.fields) or contact_change:
                changed.append((fields, old))
                contacts.append((values["external_id"], wanted, stale))
            else:
                result.unchanged += 1
        if result.ok:
            self._write(new, changed, contacts)

    def _existing(self, codes: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for start in range(0, len(codes), 900):
            # No ORDER BY (the model orders by name): SQLite would then walk the wrong index.
            query = Customer.objects.filter(organisation=self.org, external_id__in=codes[start:start + 900]).order_by()
            for row in query.values("id", "external_id", *(f for f in _FIELDS if f != "collector"), "collector_id"):
                row["collector"] = row.pop("collector_id")
                row["contacts"] = {}
                found[row["external_id"]] = row
        if self.contact_kinds and found:
            by_id = {row["id"]: row for row in found.values()}
            ids = list(by_id)
            for start in range(0, len(ids), 900):
                query = Contact.objects.filter(customer_id__in=ids[start:start + 900], kind__in=self.contact_kinds)
                for pk, customer_id, kind, value, role, valid, reason in query.values_list(
                    "pk", "customer_id", "kind", "value", "role", "valid", "invalid_reason"
                ):
                    by_id[customer_id]["contacts"][(kind, value)] = (pk, role, valid, reason)
        return found

    def _write(self, new: list[dict], changed: list[tuple[dict, dict]], contacts: list) -> None:
        if new:
            if self.inserter is None:
                self.inserter = BulkInsert(Customer, ("organisation", "external_id", *_FIELDS))
            org_id, empty = self.org.pk, self.empty
            self.inserter.insert([
                (org_id, v["external_id"], *(v.get(f, empty.get(f)) for f in _FIELDS)) for v in new
            ])
            self.result.created += len(new)
        if changed:
            rows = [(*(fields[f] for f in self.fields), old["id"]) for fields, old in changed]
            update_rows(Customer, self.fields, rows)
            self.result.updated += len(changed)
        self._write_contacts(contacts)

    def _write_contacts(self, contacts: list) -> None:
        codes = [code for code, wanted, _ in contacts if wanted]
        if not codes:
            return
        ids: dict[str, int] = {}
        for start in range(0, len(codes), 900):
            ids.update(Customer.objects.filter(
                organisation=self.org, external_id__in=codes[start:start + 900]).order_by().values_list(
                    "external_id", "id"))
        create, revive, retire = [], [], []
        for code, wanted, stale in contacts:
            for key in wanted:
                known = stale.get(key)
                if known is None:
                    create.append((ids[code], key[0], key[1], ContactRole.BILLING.value))
                elif not known[2] and known[3] == REPLACED:
                    revive.append(known[0])
            retire += [c[0] for key, c in stale.items()
                       if key not in wanted and c[1] == ContactRole.BILLING and c[2]]
        if create:
            BulkInsert(Contact, ("customer", "kind", "value", "role")).insert(create)
        if revive:
            Contact.objects.filter(pk__in=revive).update(valid=True, invalid_reason="")
        if retire:
            Contact.objects.filter(pk__in=retire).update(valid=False, invalid_reason=REPLACED)

    def finish(self) -> None:
        pass


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _contact_change(key: tuple[str, str], known: tuple | None, wanted: set) -> bool:
    """Would the import create, turn back on or turn off this contact?"""
    if key in wanted:
        return known is None or (not known[2] and known[3] == REPLACED)
    return known is not None and known[1] == ContactRole.BILLING and known[2]
