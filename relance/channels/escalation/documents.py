"""The escalation documents, one builder per kind: each returns the attachments and a short text.

- order_for_payment: the fields of the requête en injonction de payer, Cerfa n°12948*06 (the
  tribunal judiciaire's form; a claim between businesses goes to the tribunal de commerce on form
  n°12946, whose creditor / debtor / claim / documents fields are the same), as JSON, and a PDF
  summary of them.
- small_claims: the request letter to a commissaire de justice for the procédure simplifiée de
  recouvrement des petites créances (CPCE L125-1, R125-1 ff.), claims up to 5,000 EUR in principal
  and interest; above it, the order for payment is prepared instead (the text says why).
- collection_agency: a CSV, one row per invoice: debtor ids, amounts, dates, last actions.
- write_off: a PDF proposal with the amounts, for the owner (the task's button writes them off).
The amounts are the formal notice's (relance.dossier.claim), plus the recovery costs recorded for the
customer beyond the fixed indemnity (relance.law.recovery_costs: never from a consumer), each with its
supporting document listed among the documents.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date

from relance.channels.base import Attachment
from relance.channels.escalation import COLLECTION_AGENCY, ORDER_FOR_PAYMENT, SMALL_CLAIMS, WRITE_OFF
from relance.channels.templates import format_day, format_money
from relance.dossier.claim import SMALL_CLAIMS_MAX, Claim, compute_claim
from relance.dossier.parties import commissaire, creditor, debtor, party_rows
from relance.dossier.render import Section, document_pdf
from relance.dunning import queries
from relance.dunning.models import Reminder, ReminderLine, ReminderState, Task, TaskKind

CERFA = "12948*06"


@dataclass
class Produced:
    kind: str  # the kind actually produced (small claims above the ceiling become an order for payment)
    title: str
    text: str
    attachments: list[Attachment]
    claim: Claim


def _m(amount, claim: Claim) -> str:
    return format_money(amount, claim.currency, "fr")


def _d(day) -> str:
    return format_day(day, "fr") if day else ""


def formal_notice(customer, invoice_ids: list[int]) -> Reminder | None:
    """The latest formal notice sent about any of these invoices (its registered-mail number, its AR)."""
    return (Reminder.objects.filter(customer=customer, tone="formal", state=ReminderState.SENT,
                                    lines__invoice_id__in=invoice_ids).exclude(channel="escalation")
            .order_by("-sent_at", "-pk").first())


def last_actions(invoice_ids: list[int]) -> dict[int, tuple[date, str]]:
    """Per invoice: the date and the step of the last reminder that went out about it."""
    out: dict[int, tuple[date, str]] = {}
    rows = (ReminderLine.objects.filter(invoice_id__in=invoice_ids, reminder__state=ReminderState.SENT, dropped=False)
            .exclude(reminder__channel="escalation")
            .values_list("invoice_id", "reminder__run_date", "reminder__channel", "step_code"))
    for iid, day, channel, step in rows:
        if iid not in out or day >= out[iid][0]:
            out[iid] = (day, f"{channel}:{step}")
    return out


def last_call(customer) -> str:
    task = (Task.objects.filter(customer=customer, kind=TaskKind.CALL).exclude(outcome="")
            .order_by("-done_at", "-pk").first())
    if task is None:
        return ""
    note = (task.outcome_data or {}).get("note", "") if isinstance(task.outcome_data, dict) else ""
    return f"{task.done_at:%Y-%m-%d} {task.outcome}{' – ' + note if note else ''}" if task.done_at else task.outcome


def _notice_text(notice: Reminder | None) -> str:
    if notice is None:
        return "aucune mise en demeure envoyée par Relance"
    text = f"mise en demeure du {_d(queries.sent_day(notice))}"
    if notice.registered_number:
        text += f", LRAR n° {notice.registered_number}"
    if notice.acknowledged_on:
        text += f", avis de réception du {_d(notice.acknowledged_on)}"
    return text


def _documents_list(invoices, notice: Reminder | None, claim: Claim | None = None) -> list[str]:
    docs = [f"Facture n° {inv.number} du {_d(inv.issue_date)}" + ("" if inv.document else " (copie à joindre)")
            for inv in invoices]
    if notice is not None:
        docs.append(_notice_text(notice).capitalize() + " (copie et preuve d'envoi)")
    for cost in claim.cost_lines if claim is not None else []:
        docs.append(f"Justificatif de frais : {cost.description} du {_d(cost.day)}, {_m(cost.amount, claim)}"
                    + ("" if cost.document else " (à joindre)"))
    docs.append("Relevé de compte du débiteur (dossier de preuves Relance)")
    return docs


def _claim_table(claim: Claim) -> Section:
    return Section(
        "Créance", head=["Facture", "Date", "Échéance", "Reste dû", "Intérêts", "Indemnité", "Total"],
        table=[[ln.number, _d(ln.issue_date), _d(ln.due_date), _m(ln.balance, claim), _m(ln.interest, claim),
                _m(ln.indemnity, claim), _m(ln.claimed, claim)] for ln in claim.lines],
        numeric=(3, 4, 5, 6),
        paragraphs=[f"Intérêts de retard : {claim.basis}, calculés au {_d(claim.as_of)}."],
    )


def _totals(claim: Claim) -> Section:
    return Section("Montants", rows=[
        ("Principal", _m(claim.principal, claim)), ("Intérêts de retard", _m(claim.interest, claim)),
        ("Indemnité forfaitaire de recouvrement", _m(claim.indemnity, claim)),
        ("Frais de recouvrement complémentaires", _m(claim.costs, claim)),
        ("Total réclamé", _m(claim.total, claim)),
    ])


def costs_computation(claim: Claim) -> str:
    """How the complementary recovery costs claimed follow from the costs recorded (one sentence)."""
    r = claim.recovery
    if claim.kind == "consumer":
        return f"Frais de recouvrement exposés : {_m(r.incurred, claim)}, non réclamés ({r.basis})."
    return (f"Frais de recouvrement exposés {_m(r.incurred, claim)} − indemnité forfaitaire {_m(r.indemnity, claim)} "
            f"= frais de recouvrement complémentaires réclamés {_m(r.claimed, claim)} ({r.basis}).")


def _costs(claim: Claim) -> list[Section]:
    """The recovery costs recorded and the computation of what is claimed of them ([] when none)."""
    if not claim.cost_lines:
        return []
    return [Section(
        "Frais de recouvrement", head=["Date", "Nature", "Facture", "Justificatif", "Montant"],
        table=[[_d(c.day), c.description, c.invoice, "oui" if c.document else "à joindre", _m(c.amount, claim)]
               for c in claim.cost_lines],
        numeric=(4,), paragraphs=[costs_computation(claim)],
    )]


def cerfa_fields(org, customer, invoices, claim: Claim, notice: Reminder | None) -> dict:
    """The fields of the requête en injonction de payer (Cerfa n°12948*06), filled from the ledger."""
    cred, debt = creditor(org), debtor(customer)
    business = customer.kind != "consumer"
    return {
        "formulaire": f"Cerfa n°{CERFA}",
        "intitule": "Requête en injonction de payer",
        "juridiction": ("tribunal de commerce (créance commerciale : formulaire Cerfa n°12946, mêmes rubriques)"
                        if business else "tribunal judiciaire (juge des contentieux de la protection selon la "
                                         "créance)"),
        "demandeur": {
            "personne": "morale", "denomination": cred["name"], "siren": cred["siren"], "siret": cred["siret"],
            "numero_tva": cred["vat_number"], "adresse": cred["address_lines"], "courriel": cred["email"],
            "telephone": cred["phone"],
        },
        "defendeur": {
            "personne": "physique" if customer.kind == "consumer" else "morale", "denomination": debt["name"],
            "siren": debt["siren"], "siret": debt["siret"], "numero_tva": debt["vat_number"],
            "adresse": debt["address_lines"], "pays": debt["country"], "reference_client": debt["code"],
        },
        "creance": {
            "cause": "factures impayées (" + ", ".join(ln.number for ln in claim.lines) + ")",
            "principal": str(claim.principal),
            "interets": {"montant": str(claim.interest), "base": claim.basis, "arretes_au": claim.as_of.isoformat()},
            "indemnite_forfaitaire": str(claim.indemnity),
            "frais": str(claim.costs),
            "frais_recouvrement": {
                "exposes": str(claim.recovery.incurred), "indemnite_forfaitaire_deduite": str(claim.recovery.indemnity),
                "reclames": str(claim.costs), "base": claim.recovery.basis, "calcul": costs_computation(claim),
                "detail": [{"date": c.day.isoformat(), "nature": c.kind, "libelle": c.label, "facture": c.invoice,
                            "montant": str(c.amount), "justificatif": bool(c.document)} for c in claim.cost_lines],
            } if claim.cost_lines else None,
            "total": str(claim.total),
            "devise": claim.currency,
        },
        "factures": [
            {"numero": ln.number, "date": ln.issue_date.isoformat(), "echeance": ln.due_date.isoformat(),
             "montant_ttc": str(ln.total), "deja_paye": str(ln.paid), "reste_du": str(ln.balance),
             "interets": str(ln.interest), "indemnite": str(ln.indemnity)} for ln in claim.lines
        ],
        "mise_en_demeure": None if notice is None else {
            "date": queries.sent_day(notice).isoformat(),
            "numero_recommande": notice.registered_number,
            "accuse_reception": notice.acknowledged_on.isoformat() if notice.acknowledged_on else None,
        },
        "pieces": _documents_list(invoices, notice, claim),
        "fait_a": org.city,
        "date": claim.as_of.isoformat(),
    }


def order_for_payment(org, customer, invoices, claim: Claim, notice, note: str = "") -> Produced:
    fields = cerfa_fields(org, customer, invoices, claim, notice)
    sections = [
        Section("Demandeur (créancier)", rows=party_rows(creditor(org))),
        Section("Défendeur (débiteur)", rows=party_rows(debtor(customer))),
        _claim_table(claim), *_costs(claim), _totals(claim),
        Section("Mise en demeure", paragraphs=[_notice_text(notice)]),
        Section("Pièces jointes", paragraphs=[f"- {doc}" for doc in fields["pieces"]]),
        Section("Juridiction", paragraphs=[fields["juridiction"], *([note] if note else [])]),
    ]
    pdf = document_pdf(f"Requête en injonction de payer — Cerfa n°{CERFA}", sections, "fr",
                       f"{org.legal_name} contre {customer.name}, au {_d(claim.as_of)}", footer=org.legal_name)
    stem = f"injonction-de-payer-{customer.external_id}"
    attachments = [Attachment(f"{stem}.pdf", pdf),
                   Attachment(f"{stem}-cerfa-{CERFA.replace('*', '-')}.json",
                              json.dumps(fields, ensure_ascii=False, indent=2).encode(), "application/json")]
    title = f"Injonction de payer prête : {customer.name}, {_m(claim.total, claim)}"
    text = (f"Requête en injonction de payer (Cerfa n°{CERFA}) préparée pour {customer.name} : "
            f"{_m(claim.total, claim)} dont {_m(claim.principal, claim)} en principal. À signer et déposer au "
            f"greffe ({fields['juridiction']}) avec les pièces listées.\n" + (f"{note}\n" if note else ""))
    return Produced(ORDER_FOR_PAYMENT, title, text, attachments, claim)


def small_claims(org, customer, invoices, claim: Claim, notice) -> Produced:
    if claim.principal + claim.interest > SMALL_CLAIMS_MAX:
        note = (f"Principal et intérêts ({_m(claim.principal + claim.interest, claim)}) au-delà du plafond de "
                f"{_m(SMALL_CLAIMS_MAX, claim)} de la procédure simplifiée de recouvrement des petites créances "
                "(art. R125-1 CPCE) : la requête en injonction de payer est préparée à la place.")
        return order_for_payment(org, customer, invoices, claim, notice, note)
    body = [
        "Maître,",
        f"Nous vous demandons de mettre en œuvre la procédure simplifiée de recouvrement des petites créances "
        f"(articles L125-1 et R125-1 et suivants du Code des procédures civiles d'exécution) à l'encontre de "
        f"{customer.name}, pour une créance de {_m(claim.total, claim)} née des factures ci-dessous, demeurées "
        f"impayées malgré notre {_notice_text(notice)}.",
        "Nous vous remercions d'inviter le débiteur, par lettre recommandée avec demande d'avis de réception ou "
        "par voie électronique, à participer à cette procédure dans le délai d'un mois, et de nous transmettre "
        "son accord éventuel sur le montant et les modalités du paiement afin que vous délivriez le titre "
        "exécutoire.",
        "Veuillez agréer, Maître, l'expression de nos salutations distinguées.",
    ]
    officer = commissaire(org)
    addressee = (["Maître …………………, commissaire de justice", "Adresse : …………………"] if officer is None else
                 [f"Maître {officer['name']}, commissaire de justice", *officer["address_lines"]])
    sections = [
        Section("Destinataire", paragraphs=addressee),
        Section("Créancier", rows=party_rows(creditor(org))),
        Section("Débiteur", rows=party_rows(debtor(customer))),
        Section("Demande", paragraphs=body),
        _claim_table(claim), *_costs(claim), _totals(claim),
        Section("Pièces jointes", paragraphs=[f"- {doc}" for doc in _documents_list(invoices, notice, claim)]),
        Section("Fait à", paragraphs=[f"{org.city or '…'}, le {format_day(claim.as_of, 'fr', 'long')}"]),
    ]
    pdf = document_pdf("Demande de procédure simplifiée de recouvrement des petites créances", sections, "fr",
                       f"{org.legal_name} contre {customer.name}", footer=org.legal_name)
    attachments = [Attachment(f"petites-creances-{customer.external_id}.pdf", pdf)]
    title = f"Procédure petites créances prête : {customer.name}, {_m(claim.total, claim)}"
    to_do = ("Compléter le nom du commissaire de justice (ou le renseigner dans les réglages), signer et envoyer "
             "avec les pièces." if officer is None else
             f"Signer et envoyer à Maître {officer['name']} avec les pièces.")
    text = (f"Lettre de demande au commissaire de justice (procédure simplifiée de recouvrement des petites "
            f"créances) préparée pour {customer.name} : {_m(claim.total, claim)}. {to_do}\n")
    return Produced(SMALL_CLAIMS, title, text, attachments, claim)


AGENCY_COLUMNS = [
    "debtor_code", "debtor_name", "debtor_kind", "siren", "siret", "vat_number", "address", "postcode", "city",
    "country", "email", "phone", "invoice", "issue_date", "due_date", "days_late", "currency", "total", "paid",
    "open_balance", "interest", "indemnity", "claimed", "last_action_date", "last_action", "formal_notice_date",
    "registered_number", "acknowledged_on", "last_call",
]


def collection_agency(org, customer, invoices, claim: Claim, notice) -> Produced:
    ids = [inv.pk for inv in invoices]
    actions = last_actions(ids)
    by_number = {inv.number: inv for inv in invoices}
    emails = [c.value for c in customer.contacts.filter(kind="email", valid=True).order_by("id")]
    phones = [c.value for c in customer.contacts.filter(kind="phone", valid=True).order_by("id")]
    call = last_call(customer)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(AGENCY_COLUMNS)
    for ln in claim.lines:
        inv = by_number[ln.number]
        day, action = actions.get(inv.pk, (None, ""))
        writer.writerow([
            customer.external_id, customer.name, customer.kind, customer.siren, customer.siret, customer.vat_number,
            " ".join(x for x in (customer.address_line1, customer.address_line2) if x), customer.postcode,
            customer.city, customer.country, emails[0] if emails else "", phones[0] if phones else "",
            ln.number, ln.issue_date.isoformat(), ln.due_date.isoformat(), ln.days_late, ln.currency, ln.total,
            ln.paid, ln.balance, ln.interest, ln.indemnity, ln.claimed, day.isoformat() if day else "", action,
            queries.sent_day(notice) if notice and notice.sent_at else "",
            notice.registered_number if notice else "",
            notice.acknowledged_on.isoformat() if notice and notice.acknowledged_on else "", call,
        ])
    data = ("\ufeff" + out.getvalue()).encode("utf-8")
    attachments = [Attachment(f"agence-recouvrement-{customer.external_id}.csv", data, "text/csv")]
    if claim.cost_lines:
        attachments.append(Attachment(f"agence-recouvrement-{customer.external_id}-frais.csv", _costs_csv(claim),
                                      "text/csv"))
    title = f"Dossier agence de recouvrement prêt : {customer.name}, {_m(claim.total, claim)}"
    text = (f"Fichier pour l'agence de recouvrement ou l'assureur-crédit ({len(claim.lines)} facture(s), "
            f"{_m(claim.total, claim)}) : à transmettre avec le dossier de preuves.\n")
    return Produced(COLLECTION_AGENCY, title, text, attachments, claim)


COST_COLUMNS = ["date", "kind", "label", "invoice", "currency", "amount", "supporting_document"]


def _costs_csv(claim: Claim) -> bytes:
    """The recovery costs for the agency: one row per cost, then the computation of what is claimed."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COST_COLUMNS)
    for c in claim.cost_lines:
        writer.writerow([c.day.isoformat(), c.kind, c.label, c.invoice, claim.currency, c.amount,
                         "yes" if c.document else "no"])
    r = claim.recovery
    for label, amount in (("total_incurred", r.incurred), ("fixed_indemnity_deducted", r.indemnity),
                          ("complementary_claimed", r.claimed)):
        writer.writerow(["", label, costs_computation(claim) if label == "complementary_claimed" else "", "",
                         claim.currency, amount, ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_off(org, customer, invoices, claim: Claim, notice) -> Produced:
    sections = [
        Section("Débiteur", rows=party_rows(debtor(customer))),
        _claim_table(claim), *_costs(claim), _totals(claim),
        Section("Historique", paragraphs=[_notice_text(notice).capitalize() + ".",
                                          f"Dernier appel : {last_call(customer) or 'aucun'}."]),
        Section("Proposition", paragraphs=[
            f"Passer en perte les {len(claim.lines)} facture(s) ci-dessus, pour un principal de "
            f"{_m(claim.principal, claim)} : leur relance s'arrête ; les écritures comptables (créance "
            "irrécouvrable, TVA) restent à passer dans la comptabilité."]),
    ]
    pdf = document_pdf("Proposition de passage en perte", sections, "fr", f"{customer.name}, au {_d(claim.as_of)}",
                       footer=org.legal_name)
    attachments = [Attachment(f"passage-en-perte-{customer.external_id}.pdf", pdf)]
    title = f"Passage en perte à décider : {customer.name}, {_m(claim.principal, claim)}"
    text = (f"Proposition de passer en perte {len(claim.lines)} facture(s) de {customer.name} "
            f"({_m(claim.principal, claim)} en principal). Le bouton « Passer en perte » de la tâche le fait.\n")
    return Produced(WRITE_OFF, title, text, attachments, claim)


BUILDERS = {ORDER_FOR_PAYMENT: order_for_payment, SMALL_CLAIMS: small_claims,
            COLLECTION_AGENCY: collection_agency, WRITE_OFF: write_off}


def produce(kind: str, org, customer, invoices, today: date) -> Produced:
    """The documents of an escalation of this kind about these invoices, as of `today`."""
    if kind not in BUILDERS:
        raise ValueError(f"escalation kind {kind!r} unknown; expected one of {', '.join(BUILDERS)}")
    invoices = sorted(invoices, key=lambda i: (i.due_date, i.number))
    claim = compute_claim(customer.kind, invoices, today, queries.list_costs(org, customer, until=today))
    notice = formal_notice(customer, [inv.pk for inv in invoices])
    return BUILDERS[kind](org, customer, invoices, claim, notice)
