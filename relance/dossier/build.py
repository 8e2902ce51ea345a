"""The evidence dossier of a customer: one ZIP with a summary PDF and every document.

    summary.pdf                 parties, invoices claimed, statement of account, chronology, the claim
                                (interest and indemnity per invoice), total claimed
    chronology.csv              the same chronology (relance.web.reads.timeline: one reading of it)
    invoices/<number>.pdf       the invoices' own documents (Invoice.document)
    reminders/<day>-<id>-<channel>/   each reminder as sent: message.eml when the raw message is kept,
                                else message.txt + message.html; attachments/ (those whose bytes are
                                found identical to what was sent); receipt.json (provider receipt,
                                Message-ID, registered-mail number and acknowledgement)
    calls.csv                   call tasks: outcomes, notes, promises
    portal/visits.csv, portal/requests.csv, portal/proofs/  the customer's portal visits and answers
    escalations/<day>-<id>-<kind>/   the documents of earlier escalation steps (Cerfa JSON and PDF,
                                small-claims letter, agency CSV, write-off proposal), those whose bytes
                                are identical to what the step recorded
    costs/<day>-<id>-<name>     the supporting documents of the recovery costs recorded
    audit/log.jsonl             the hash-chained audit log, when relance.audit is installed
    manifest.json, manifest.sha256   every file with its SHA-256 and size

Deterministic: files in path order, each stamped with the dossier's date, fixed attributes, so the
same data on the same day gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from django.core.files.storage import default_storage
from django.utils import translation
from django.utils.translation import pgettext

from relance.channels.templates import format_day, format_money, format_percent
from relance.dossier.claim import Claim, compute_claim
from relance.dossier.parties import commissaire, creditor, debtor, party_rows
from relance.dossier.render import Section, document_pdf
from relance.dunning import queries
from relance.dunning.models import Reminder, ReminderState, Task, TaskKind
from relance.ledger.models import CreditNote, Invoice, InvoiceStatus, Payment
from relance.portal.models import PortalRequest, PortalVisit
from relance.web.reads.reminders import find_attachments, list_lines, raw_message
from relance.web.reads.timeline import MAX_EVENTS, Timeline

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Reminders that left: sent, or handed to the provider (the outcome in doubt, or a later bounce).
EVIDENCE_STATES = (ReminderState.SENT, ReminderState.UNKNOWN, ReminderState.FAILED)
CUSTOMER_CHANNELS = ("email", "sms", "letter")
ESCALATION = "escalation"
FILE_MODE = 0o644 << 16


class DossierError(ValueError):
    pass


def safe_name(text: str, default: str = "file") -> str:
    name = _SAFE.sub("-", text).strip("-.")
    return name[:120] or default


@dataclass
class Dossier:
    """The files of a dossier by path, before they are zipped."""

    day: date
    files: dict[str, bytes] = field(default_factory=dict)

    def add(self, path: str, content: bytes) -> str:
        path = str(PurePosixPath(path))
        stem, dot, ext = path.rpartition(".")
        n = 2
        while path in self.files:  # two attachments of the same name: both kept
            path = f"{stem}-{n}.{ext}" if dot else f"{path}-{n}"
            n += 1
        self.files[path] = content
        return path

    def manifest(self) -> list[dict]:
        return [{"path": p, "sha256": hashlib.sha256(c).hexdigest(), "size": len(c)}
                for p, c in sorted(self.files.items())]

    def zip_bytes(self, meta: dict) -> bytes:
        entries = self.manifest()
        manifest = json.dumps({**meta, "files": entries}, ensure_ascii=False, indent=2, sort_keys=True).encode()
        sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries).encode()
        stamp = (self.day.year, self.day.month, self.day.day, 0, 0, 0)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, content in [*sorted(self.files.items()), ("manifest.json", manifest), ("manifest.sha256", sums)]:
                info = zipfile.ZipInfo(path, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = FILE_MODE
                archive.writestr(info, content)
        return out.getvalue()


def _csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else str(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: spreadsheets read UTF-8 then


def _iso(value) -> str:
    return value.isoformat() if value else ""


def claimed_invoices(customer) -> list[Invoice]:
    """The invoices claimed: still open (or partly paid), not cancelled nor written off."""
    return list(Invoice.objects.filter(
        customer=customer, open_balance__gt=0, status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID,
                                                           InvoiceStatus.DISPUTED],
    ).order_by("due_date", "number"))


# ---- the summary ----------------------------------------------------------------------------


def _claim_sections(claim: Claim, language: str) -> list[Section]:
    cur = claim.currency

    def m(amount: Decimal) -> str:
        return format_money(amount, cur, language)

    invoices = Section(
        pgettext("dossier", "Invoices claimed"),
        head=[pgettext("dossier", "Invoice"), pgettext("dossier", "Issued"), pgettext("dossier", "Due"),
              pgettext("dossier", "Total"), pgettext("dossier", "Paid"), pgettext("dossier", "Open")],
        table=[[line.number, format_day(line.issue_date, language), format_day(line.due_date, language), m(line.total),
                m(line.paid), m(line.balance)] for line in claim.lines],
        numeric=(3, 4, 5),
    )
    computed = Section(
        pgettext("dossier", "Late-payment interest and fixed indemnity, per invoice"),
        head=[pgettext("dossier", "Invoice"), pgettext("dossier", "Days late"), pgettext("dossier", "Principal"),
              pgettext("dossier", "Interest"), pgettext("dossier", "Indemnity"), pgettext("dossier", "Claimed")],
        table=[[line.number, str(line.days_late), m(line.balance), m(line.interest), m(line.indemnity), m(line.claimed)]
               for line in claim.lines],
        numeric=(1, 2, 3, 4, 5),
        paragraphs=[pgettext("dossier", "Basis: {basis}. Computed as at {day}.").format(
            basis=claim.basis, day=format_day(claim.as_of, language))]
        + [pgettext("dossier", "{number}: from {start} to {end}, {days} day(s) at {rate}: {amount}").format(
            number=p["number"], start=format_day(p["start"], language), end=format_day(p["end"], language),
            days=p["days"], rate=format_percent(p["rate"], language), amount=m(p["amount"]))
           + (" " + pgettext("dossier", "(estimated rate)") if p["estimated"] else "")
           for line in claim.lines for p in line.periods],
    )
    total = Section(pgettext("dossier", "Total claimed"), rows=[
        (pgettext("dossier", "Principal"), m(claim.principal)),
        (pgettext("dossier", "Late-payment interest"), m(claim.interest)),
        (pgettext("dossier", "Fixed recovery indemnity"), m(claim.indemnity)),
        *([(pgettext("dossier", "Complementary recovery costs"), m(claim.costs))] if claim.cost_lines else []),
        (pgettext("dossier", "Total claimed"), m(claim.total)),
    ])
    return [invoices, computed, *([_costs_section(claim, language)] if claim.cost_lines else []), total]


def _costs_section(claim: Claim, language: str) -> Section:
    """The recovery costs recorded, their supporting documents, and what is claimed of them (and why)."""
    cur = claim.currency
    recovery = claim.recovery

    def m(amount: Decimal) -> str:
        return format_money(amount, cur, language)

    return Section(
        pgettext("dossier", "Recovery costs"),
        head=[pgettext("dossier", "Date"), pgettext("dossier", "Cost"), pgettext("dossier", "Invoice"),
              pgettext("dossier", "Supporting document"), pgettext("dossier", "Amount")],
        table=[[format_day(c.day, language), c.description, c.invoice, cost_path(c) if c.document else "", m(c.amount)]
               for c in claim.cost_lines],
        numeric=(4,),
        paragraphs=[
            pgettext("dossier", "Costs incurred {incurred} − fixed indemnity {indemnity} = complementary costs "
                                "claimed {claimed}.").format(incurred=m(recovery.incurred),
                                                             indemnity=m(recovery.indemnity),
                                                             claimed=m(recovery.claimed)),
            pgettext("dossier", "Basis: {basis}.").format(basis=recovery.basis),
        ],
    )


def cost_path(cost) -> str:
    """Where a cost's supporting document lies in the dossier."""
    name = PurePosixPath(cost.document).name
    return f"costs/{cost.day:%Y-%m-%d}-{cost.pk}-{safe_name(name)}"


def _statement(customer, language: str) -> Section:
    """Every invoice (debit), payment and credit note (credit) of the customer by date, running balance."""
    moves: list[tuple] = []
    for inv in Invoice.objects.filter(customer=customer).exclude(status=InvoiceStatus.CANCELLED).order_by(
            "issue_date", "number"):
        moves.append((inv.issue_date, 0, pgettext("dossier", "Invoice {number}").format(number=inv.number),
                      inv.total, Decimal(0), inv.currency))
    for p in Payment.objects.filter(customer=customer).order_by("date", "pk"):
        moves.append((p.date, 1, pgettext("dossier", "Payment {reference}").format(reference=p.reference).strip(),
                      Decimal(0), p.amount, p.currency))
    for note in CreditNote.objects.filter(customer=customer).order_by("date", "number"):
        moves.append((note.date, 2, pgettext("dossier", "Credit note {number}").format(number=note.number),
                      Decimal(0), note.total, note.currency))
    moves.sort(key=lambda mv: (mv[0], mv[1], mv[2]))
    balance = Decimal(0)
    rows = []
    for day, _order, label, debit, credit, cur in moves:
        balance += debit - credit
        rows.append([format_day(day, language), label, format_money(debit, cur, language) if debit else "",
                     format_money(credit, cur, language) if credit else "", format_money(balance, cur, language)])
    return Section(pgettext("dossier", "Statement of account"),
                   head=[pgettext("dossier", "Date"), pgettext("dossier", "Entry"), pgettext("dossier", "Debit"),
                         pgettext("dossier", "Credit"), pgettext("dossier", "Balance")],
                   table=rows, numeric=(2, 3, 4))


def chronology(org, customer) -> list:
    """The customer's timeline, oldest first (the page's own reading, relance.web.reads.timeline)."""
    events, _more = Timeline(org, customer).events(limit=MAX_EVENTS)
    return list(reversed(events))


def _event_row(event, tz: ZoneInfo, language: str) -> list[str]:
    at = event.at.astimezone(tz)
    amount = format_money(event.amount, event.currency, language) if event.amount is not None else ""
    detail = " — ".join(x for x in (event.detail, event.state) if x)
    return [f"{format_day(at.date(), language)} {at:%H:%M}", event.kind_label, event.title, detail, event.invoices,
            amount]


# ---- the documents --------------------------------------------------------------------------


def _reminders(dossier: Dossier, customer) -> None:
    reminders = (Reminder.objects.filter(customer=customer, channel__in=CUSTOMER_CHANNELS)
                 .filter(state__in=EVIDENCE_STATES).exclude(handed_over_at__isnull=True, sent_at__isnull=True)
                 .select_related("organisation", "approved_by", "edited_by").order_by("run_date", "pk"))
    for r in reminders:
        folder = f"reminders/{r.run_date:%Y-%m-%d}-{r.pk}-{r.channel}"
        raw = raw_message(r) if r.channel == "email" else None
        if raw is not None:
            dossier.add(f"{folder}/message.eml", raw)
        else:
            text = f"{r.subject}\n\n{r.body_text}" if r.subject else r.body_text
            dossier.add(f"{folder}/message.txt", text.encode())
            if r.body_html:
                dossier.add(f"{folder}/message.html", r.body_html.encode())
        lines = list_lines(r)
        attachments = []
        for record in find_attachments(r, lines):
            content = record.pop("content")
            record.pop("index", None)
            if content is not None and raw is None:
                record["file"] = dossier.add(f"{folder}/attachments/{safe_name(str(record.get('name')))}", content)
            record["found"] = content is not None or raw is not None
            attachments.append(record)
        receipt = {
            "reminder": r.pk, "channel": r.channel, "step": r.step_code, "template": r.template, "state": r.state,
            "run_date": _iso(r.run_date), "recipient": r.recipient, "subject": r.subject,
            "message_id": r.message_id, "provider_id": r.provider_id, "provider_response": r.provider_response,
            "handed_over_at": _iso(r.handed_over_at), "sent_at": _iso(r.sent_at), "error": r.error,
            "registered": r.registered, "registered_number": r.registered_number,
            "acknowledged_on": _iso(r.acknowledged_on),
            "approved_by": r.approved_by.get_username() if r.approved_by else "",
            "edited_by": r.edited_by.get_username() if r.edited_by else "", "edited_at": _iso(r.edited_at),
            "invoices": [{"number": ln.invoice.number, "balance": str(ln.balance), "step": ln.step_code,
                          "dropped": ln.dropped} for ln in lines],
            "attachments": attachments,
        }
        dossier.add(f"{folder}/receipt.json",
                    json.dumps(receipt, ensure_ascii=False, indent=2, sort_keys=True).encode())


def _calls(dossier: Dossier, customer) -> None:
    rows = []
    for t in (Task.objects.filter(customer=customer, kind=TaskKind.CALL).select_related("assignee")
              .prefetch_related("invoices").order_by("created_at", "pk")):
        data = t.outcome_data if isinstance(t.outcome_data, dict) else {}
        rows.append([t.pk, _iso(t.created_at), _iso(t.due_date), _iso(t.done_at), t.state,
                     t.assignee.get_username() if t.assignee else "", t.outcome, data.get("note", ""),
                     data.get("date", ""), data.get("amount", ""),
                     " ".join(i.number for i in t.invoices.all()), t.title])
    dossier.add("calls.csv", _csv(["task", "created_at", "due_date", "done_at", "state", "assignee", "outcome", "note",
                                   "promised_date", "promised_amount", "invoices", "title"], rows))


def _portal(dossier: Dossier, customer) -> None:
    visits = [[_iso(v.at), v.page, v.ip_address or "", v.user_agent, v.reminder_id or ""]
              for v in PortalVisit.objects.filter(customer=customer).order_by("at", "pk")]
    dossier.add("portal/visits.csv", _csv(["at", "page", "ip_address", "user_agent", "reminder"], visits))
    rows = []
    requests = PortalRequest.objects.filter(customer=customer).prefetch_related("invoices")
    for req in requests.order_by("created_at", "pk"):
        proof = ""
        if req.proof:
            try:
                with req.proof.open("rb") as fh:
                    name = PurePosixPath(req.proof.name).name
                    proof = dossier.add(f"portal/proofs/{req.pk}-{safe_name(name)}", fh.read())
            except (OSError, ValueError):
                proof = f"missing: {req.proof.name}"
        rows.append([req.pk, _iso(req.created_at), req.kind, req.state, " ".join(i.number for i in req.invoices.all()),
                     _iso(req.paid_on), req.amount if req.amount is not None else "", req.reason, req.comment,
                     req.instalments or "", proof, _iso(req.handled_at), req.resolution])
    dossier.add("portal/requests.csv", _csv(["request", "created_at", "kind", "state", "invoices", "paid_on", "amount",
                                             "reason", "comment", "instalments", "proof", "handled_at", "resolution"],
                                            rows))


def escalation_files(customer) -> list[tuple[str, str, bytes]]:
    """The documents of the customer's earlier escalation steps: (folder, name, bytes), only those whose
    bytes are identical to what the step recorded (relance.channels.escalation stores them)."""
    out = []
    reminders = (Reminder.objects.filter(customer=customer, channel=ESCALATION, state__in=EVIDENCE_STATES)
                 .exclude(handed_over_at__isnull=True, sent_at__isnull=True).order_by("run_date", "pk"))
    for r in reminders:
        folder = f"escalations/{r.run_date:%Y-%m-%d}-{r.pk}-{safe_name(r.template)}"
        for record in find_attachments(r, list_lines(r)):
            if record["content"] is not None:
                out.append((folder, safe_name(str(record.get("name"))), record["content"]))
    return out


def _cost_documents(dossier: Dossier, claim: Claim) -> list[str]:
    """The supporting documents of the costs, as the summary lists them (a missing file named as such)."""
    rows = []
    for cost in claim.cost_lines:
        if not cost.document:
            continue
        try:
            with default_storage.open(cost.document, "rb") as fh:
                rows.append(dossier.add(cost_path(cost), fh.read()))
        except (OSError, ValueError):
            rows.append(pgettext("dossier", "missing: {name}").format(name=cost.document))
    return rows


def add_audit_log(dossier: Dossier, org, customer) -> None:
    """The customer's entries of the hash-chained audit log (relance.audit), one JSON line each in the
    log's order, with the exact stored data and both hashes: a reader can re-check each entry's hash."""
    from relance.audit.log import entries_for

    fields = ("seq", "kind", "actor", "object_type", "object_id", "object_label", "data_json", "prev_hash", "hash")
    lines = [json.dumps({"at": entry.at.isoformat(), **{f: getattr(entry, f) for f in fields}},
                        ensure_ascii=False, sort_keys=True)
             for entry in entries_for(org, customer=customer)]
    dossier.add("audit/log.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")


# ---- the whole ------------------------------------------------------------------------------


def build_dossier(org, customer, today: date | None = None) -> bytes:
    """The customer's evidence dossier as ZIP bytes (see the module docstring)."""
    if customer.organisation_id != org.pk:
        raise DossierError(f"customer {customer.external_id!r} is not one of {org.slug}")
    today = today or queries.org_today(org)
    language = "en" if customer.language == "en" else "fr"
    tz = ZoneInfo(org.time_zone)
    dossier = Dossier(today)
    invoices = claimed_invoices(customer)
    escalations = escalation_files(customer)
    with translation.override(language):
        claim = compute_claim(customer.kind, invoices, today, queries.list_costs(org, customer, until=today))
        cost_docs = _cost_documents(dossier, claim)
        escalation_paths = [dossier.add(f"{folder}/{name}", content) for folder, name, content in escalations]
        events = chronology(org, customer)
        event_rows = [_event_row(e, tz, language) for e in events]
        head = [pgettext("dossier", "When"), pgettext("dossier", "What"), pgettext("dossier", "Event"),
                pgettext("dossier", "Detail"), pgettext("dossier", "Invoices"), pgettext("dossier", "Amount")]
        sections = [
            Section(pgettext("dossier", "Creditor"), rows=party_rows(creditor(org))),
            Section(pgettext("dossier", "Debtor"), rows=party_rows(debtor(customer))),
            *([Section(pgettext("dossier", "Commissaire de justice"), rows=party_rows(commissaire(org)))]
              if commissaire(org) else []),
            *_claim_sections(claim, language)[:1],
            _statement(customer, language),
            Section(pgettext("dossier", "Chronology"), head=head, table=event_rows, numeric=(5,)),
            *_claim_sections(claim, language)[1:],
        ]
        if escalation_paths or cost_docs:
            sections.append(Section(pgettext("dossier", "Escalation documents and supporting documents"),
                                    paragraphs=[f"- {p}" for p in escalation_paths + cost_docs]))
        title = pgettext("dossier", "Evidence dossier: {customer}").format(customer=customer.name)
        subtitle = pgettext("dossier", "{org} against {customer} ({code}), as at {day}").format(
            org=org.legal_name, customer=customer.name, code=customer.external_id, day=format_day(today, language))
        dossier.add("summary.pdf", document_pdf(title, sections, language, subtitle, footer=org.legal_name))
        dossier.add("chronology.csv", _csv(["at", "kind", "title", "detail", "invoices", "amount", "currency"], [
            [e.at.astimezone(tz).isoformat(), e.kind, e.title, e.detail, e.invoices,
             "" if e.amount is None else e.amount, e.currency] for e in events]))
    for inv in invoices:
        if inv.document:
            try:
                with inv.document.open("rb") as fh:
                    dossier.add(f"invoices/{safe_name(inv.number)}.pdf", fh.read())
            except (OSError, ValueError):
                pass  # the manifest lists what is there; the summary names every invoice
    _reminders(dossier, customer)
    _calls(dossier, customer)
    _portal(dossier, customer)
    add_audit_log(dossier, org, customer)
    meta = {
        "organisation": org.slug, "customer": customer.external_id, "as_of": today.isoformat(),
        "total_claimed": str(claim.total), "currency": claim.currency,
        "recovery_costs_incurred": str(claim.costs_incurred), "recovery_costs_claimed": str(claim.costs),
    }
    return dossier.zip_bytes(meta)


def dossier_filename(customer, day: date) -> str:
    return f"dossier-{safe_name(customer.external_id)}-{day:%Y%m%d}.zip"


__all__ = ["DossierError", "build_dossier", "chronology", "claimed_invoices", "dossier_filename"]
