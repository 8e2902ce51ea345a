"""The parties of a claim with their legal ids: the organisation (creditor) and the customer (debtor),
as the ledger holds them. Shared by the dossier and the escalation documents."""

from __future__ import annotations

from django.utils.translation import pgettext


def creditor(org) -> dict:
    return {
        "name": org.legal_name, "siren": org.siren, "siret": org.siret, "vat_number": org.vat_number,
        "address_lines": list(org.address_lines), "email": org.sender_email, "phone": org.phone,
        "iban": org.iban,
    }


def debtor(customer) -> dict:
    return {
        "name": customer.name, "code": customer.external_id, "kind": customer.kind, "siren": customer.siren,
        "siret": customer.siret, "vat_number": customer.vat_number, "address_lines": list(customer.address_lines),
        "country": customer.country or "FR",
    }


def commissaire(org) -> dict | None:
    """The commissaire de justice the organisation works with (its settings), None when not set."""
    name = org.commissaire_name.strip()
    if not name:
        return None
    lines = [line.strip() for line in org.commissaire_address.splitlines() if line.strip()]
    return {"name": name, "address_lines": lines}


def party_rows(party: dict) -> list[tuple[str, str]]:
    """Label/value rows of a party, in the active language (empty ids shown as such)."""
    none = pgettext("dossier", "not recorded")
    rows = [(pgettext("dossier", "Name"), party["name"])]
    if "code" in party:
        rows.append((pgettext("dossier", "Customer code"), party["code"]))
    if "siren" not in party:  # a commissaire de justice: a name and an address
        return rows + [(pgettext("dossier", "Address"), ", ".join(party["address_lines"]) or none)]
    rows += [
        ("SIREN", party["siren"] or none),
        ("SIRET", party["siret"] or none),
        (pgettext("dossier", "VAT number"), party["vat_number"] or none),
        (pgettext("dossier", "Address"), ", ".join(party["address_lines"]) or none),
    ]
    return rows
