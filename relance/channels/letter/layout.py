"""The letter as HTML then PDF: letterhead, the address in the envelope window, place and date,
subject, the message, the invoices, the amounts claimed, the means of payment with an EPC QR code.

The HTML is self-contained (CSS inline, logo and QR as data: URIs): it is what the reminder keeps
as sent, and a print batch rebuilds the same letter from it.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from relance.channels.templates import format_day, format_iban, format_money, locale_for
from relance.lib.money import ZERO
from relance.lib.pdf import html_to_pdf, htmls_to_pdf

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Where the address shows through a DL window envelope, from the sheet's top-left corner (mm).
WINDOW = {"left": 100, "top": 48, "width": 90, "height": 40}
LOGO_MAX_BYTES = 1_000_000

LABELS = {
    "fr": {
        "phone": "Tél.", "vat": "TVA", "registered_mode": "LETTRE RECOMMANDÉE AVEC AVIS DE RÉCEPTION",
        "customer_code": "Code client", "reference": "Référence", "subject": "Objet :",
        "invoice": "Facture", "issued": "Date", "due": "Échéance", "days_late": "Jours de retard",
        "total": "Montant TTC", "balance": "Reste dû", "principal": "Total dû en principal",
        "interest": "Pénalités de retard", "as_of": "au",
        "indemnity": "Indemnité forfaitaire pour frais de recouvrement",
        "claimed": "Total réclamé", "amount_due": "Montant à régler :", "before": "avant le",
        "transfer": "Par virement :", "quote": "Référence à indiquer :", "online": "En ligne :",
        "scan": "Scannez avec votre application bancaire", "footer_siren": "SIREN",
        "letters": "courrier(s)", "reminder": "N° relance", "recipient": "Destinataire", "mode": "Envoi",
        "number": "N° de recommandé", "registered": "Recommandé AR", "simple": "Lettre simple",
        "batch_title": "Courriers à poster", "detail": "Détail de la créance",
        "hint": "Après dépôt : relance letters register --reminder N° --number N° [--ack-date AAAA-MM-JJ]",
    },
    "en": {
        "phone": "Tel.", "vat": "VAT", "registered_mode": "REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT",
        "customer_code": "Customer code", "reference": "Reference", "subject": "Subject:",
        "invoice": "Invoice", "issued": "Date", "due": "Due date", "days_late": "Days late",
        "total": "Amount", "balance": "Outstanding", "principal": "Principal due",
        "interest": "Late-payment interest", "as_of": "as at", "indemnity": "Fixed recovery indemnity",
        "claimed": "Total claimed", "amount_due": "Amount to pay:", "before": "by",
        "transfer": "By bank transfer:", "quote": "Reference to quote:", "online": "Online:",
        "scan": "Scan with your banking app", "footer_siren": "SIREN",
        "letters": "letter(s)", "reminder": "Reminder no.", "recipient": "Recipient", "mode": "Mode",
        "number": "Registered no.", "registered": "Registered", "simple": "Standard",
        "batch_title": "Letters to post", "detail": "Statement of the claim",
        "hint": "Once posted: relance letters register --reminder ID --number N [--ack-date YYYY-MM-DD]",
    },
}

LEGAL = {
    "fr": {
        "business": ("Conformément à l'article L441-10 du Code de commerce, cette somme est majorée de plein droit "
                     "des pénalités de retard au taux de {rate} l'an (taux BCE + 10 points){interest}, et de "
                     "l'indemnité forfaitaire pour frais de recouvrement de 40 € par facture "
                     "(art. D441-5){indemnity}."),
        "public": ("Conformément à l'article R2192-31 du Code de la commande publique, cette somme porte intérêts "
                   "moratoires au taux de {rate} l'an (taux BCE + 8 points){interest}, et l'indemnité forfaitaire "
                   "pour frais de recouvrement de 40 € par facture est due (art. D2192-35){indemnity}."),
        "consumer": ("Conformément à l'article 1231-6 du Code civil, cette somme porte intérêts au taux légal "
                     "({rate} l'an) à compter de la présente mise en demeure."),
        "interest": ", soit {amount} au {day}", "indemnity": ", soit {amount}",
    },
    "en": {
        "business": ("Under article L441-10 of the French Commercial Code, this sum is automatically increased by "
                     "late-payment interest at {rate} a year (ECB rate + 10 points){interest}, and by the fixed "
                     "recovery indemnity of €40 per invoice (art. D441-5){indemnity}."),
        "public": ("Under article R2192-31 of the French Public Procurement Code, this sum bears late-payment "
                   "interest at {rate} a year (ECB rate + 8 points){interest}, and the fixed recovery indemnity of "
                   "€40 per invoice is due (art. D2192-35){indemnity}."),
        "consumer": ("Under article 1231-6 of the French Civil Code, this sum bears interest at the legal rate "
                     "({rate} a year) from the date of this formal notice."),
        "interest": ", {amount} as at {day}", "indemnity": ", that is {amount}",
    },
}


@dataclass
class Letter:
    html: str
    pdf: bytes


@cache
def _env(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        money=lambda amount, currency="EUR": format_money(amount, currency, language, html=True),
        date=lambda value, style="short": format_day(value, language, style),
        iban=format_iban,
    )
    return env


@cache
def _css() -> Markup:
    return Markup((TEMPLATES_DIR / "letter" / "letter.css").read_text(encoding="utf-8"))  # noqa: S704 - our file


def _css_string(text: str) -> str:
    # A CSS string inside <style>: no HTML escaping applies there, so escape for CSS (and never "</").
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ").replace("<", "\\3C ")
    return f'"{out}"'


def body_blocks(text: str) -> list[dict]:
    """Plain text (a rendered message) as paragraphs and bullet lists ("- " lines)."""
    blocks: list[dict] = []
    for chunk in text.strip().split("\n\n"):
        lines = [line.rstrip() for line in chunk.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if all(line.lstrip().startswith("- ") for line in lines):
            blocks.append({"items": [line.lstrip()[2:] for line in lines], "lines": []})
            continue
        # A paragraph introducing a list ("les factures suivantes :") keeps its list right after.
        head = [line for line in lines if not line.lstrip().startswith("- ")]
        items = [line.lstrip()[2:] for line in lines if line.lstrip().startswith("- ")]
        blocks.append({"items": [], "lines": head})
        if items:
            blocks.append({"items": items, "lines": []})
    return blocks


def place_and_date(city: str, day: date, language: str) -> str:
    """"À Lyon, le 30 juin 2026" (fr) / "Lyon, 30 June 2026" (en)."""
    long = format_day(day, language, "long")
    if language == "en":
        return f"{city}, {long}" if city else long
    return f"À {city}, le {long}" if city else f"Le {long}"


def percent(rate: Decimal | None, language: str) -> str:
    if rate is None:
        return ""
    return f"{format_decimal(rate, format='0.00', locale=locale_for(language))}\u00a0%"


def legal_sentence(context: dict, rate: Decimal | None) -> str:
    """The penalties paragraph of a formal notice, for the customer's kind (law module figures)."""
    language = context.get("language", "fr")
    words = LEGAL.get(language, LEGAL["fr"])
    kind = context["customer"].get("kind", "business")
    currency = context.get("currency") or "EUR"
    interest = context.get("late_interest") or ZERO
    indemnity = context.get("indemnity") or ZERO
    return words.get(kind, words["business"]).format(
        rate=percent(rate, language),
        interest=words["interest"].format(amount=format_money(interest, currency, language, html=True),
                                          day=format_day(context["today"], language)) if interest > 0 else "",
        indemnity=words["indemnity"].format(amount=format_money(indemnity, currency, language, html=True))
        if indemnity > 0 else "",
    )


def logo_data_uri(path: str | Path | None) -> str:
    """The organisation's logo inline (the letter HTML stays self-contained), "" when none or too big."""
    if not path:
        return ""
    file = Path(path)
    if not file.is_file() or file.stat().st_size > LOGO_MAX_BYTES:
        return ""
    mime = mimetypes.guess_type(file.name)[0] or "image/png"
    if not mime.startswith("image/"):
        return ""
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode()}"


def letter_html(context: dict, *, subject: str, body_text: str = "", formal: bool = False,
                recipient_lines: list[str] | None = None, logo: str = "", qr: str = "",
                penalty_rate: Decimal | None = None) -> str:
    """The letter's HTML from the documented message context (relance.channels.context)."""
    language = context.get("language") if context.get("language") in LABELS else "fr"
    org = context["org"]
    customer = context["customer"]
    interest = context.get("late_interest") or ZERO
    indemnity = context.get("indemnity") or ZERO
    footer = " · ".join(x for x in [org["legal_name"], " ".join(org.get("address_lines") or []),
                                     f"SIREN {org['siren']}" if org.get("siren") else ""] if x)
    values = {
        **context,
        "language": language,
        "t": LABELS[language],
        "css": _css(),
        "page_css": Markup("@page { @bottom-left { content: %s } }") % Markup(_css_string(footer)),
        "subject": subject,
        "body_blocks": body_blocks(body_text) if body_text.strip() else [],
        "formal": formal,
        "registered": bool(context.get("registered")),
        "recipient_lines": recipient_lines or [customer["name"], *customer.get("address_lines", [])],
        "place_date": place_and_date(org.get("city") or "", context["today"], language),
        "logo": logo,
        "qr": qr,
        "penalty_rate": percent(penalty_rate, language) if customer.get("kind") != "consumer" else "",
        "legal_sentence": legal_sentence(context, penalty_rate),
        "legal_note": legal_sentence(context, penalty_rate),
        "claimed": (context.get("total_due") or ZERO) + interest + indemnity,
        "deadline_days": context.get("deadline_days", 8),
        "payment_link": context.get("payment_link", ""),
        "late_interest": interest,
        "indemnity": indemnity,
    }
    return _env(language).get_template("letter/letter.html").render(values)


def render_pdf(html: str) -> bytes:
    return html_to_pdf(html, base_url=TEMPLATES_DIR)


def render_many(htmls: list[str]) -> bytes:
    return htmls_to_pdf(htmls, base_url=TEMPLATES_DIR)


def cover_html(org_name: str, day: date, letters: list[dict], language: str = "fr") -> str:
    """The print batch's first page: one row per letter, a blank for the registered-mail number."""
    language = language if language in LABELS else "fr"
    t = LABELS[language]
    return _env(language).get_template("letter/cover.html").render(
        language=language, t=t, css=_css(), title=t["batch_title"], org_name=org_name, day=day, letters=letters,
    )
