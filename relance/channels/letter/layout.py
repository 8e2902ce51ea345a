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
from functools import cache
from pathlib import Path

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from relance.channels.templates import LANGUAGES, format_day, format_days, format_iban, format_money, format_percent
from relance.lib.money import ZERO
from relance.lib.pdf import html_to_pdf, htmls_to_pdf

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Where the address shows through a DL window envelope, from the sheet's top-left corner (mm).
WINDOW = {"left": 100, "top": 48, "width": 90, "height": 40}
LOGO_MAX_BYTES = 1_000_000

def labels() -> dict[str, str]:
    """The letter's printed words in the active language (English source, French catalogue)."""
    return {
        "phone": _("Tel."), "vat": _("VAT"), "registered_mode": _("REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT"),
        "customer_code": _("Customer code"), "reference": _("Reference"), "subject": _("Subject:"),
        "invoice": _("Invoice"), "issued": pgettext("invoice", "Date"), "due": _("Due date"),
        "days_late": _("Days late"), "total": _("Amount"), "balance": _("Outstanding"),
        "principal": _("Principal due"), "interest": _("Late-payment interest"), "as_of": _("as at"),
        "indemnity": _("Fixed recovery indemnity"), "claimed": _("Total claimed"), "amount_due": _("Amount to pay:"),
        "transfer": _("By bank transfer:"), "quote": _("Reference to quote:"), "online": _("Online:"),
        "scan": _("Scan with your banking app"), "letters": _("letter(s)"), "reminder": _("Reminder no."),
        "recipient": _("Recipient"), "mode": _("Mode"), "number": _("Registered no."),
        "registered": _("Registered"), "simple": _("Standard"), "batch_title": _("Letters to post"),
        "detail": _("Statement of the claim"), "interest_detail": _("How the interest was computed"),
        "estimated": _("estimated rate: the official rate for this period is not published yet"),
        "period": _("Invoice %(number)s, from %(start)s to %(end)s, %(days)s at %(rate)s"),
        "hint": _("Once posted: relance letters register --reminder ID --number N [--ack-date YYYY-MM-DD]"),
    }


def legal_sentence(kind: str, terms: dict | None = None, language: str = "fr") -> str:
    """The legal basis of interest and indemnity for the customer's kind, in the active language.

    `terms`: the context's `interest_terms` (the terms of sale's rate of a business), None for the law's."""
    if kind == "consumer":
        return _("Under article 1231-6 of the French Civil Code, this sum bears interest at the legal rate from "
                 "the date of this formal notice.")
    if kind == "public":
        return _("Under articles L2192-13 and R2192-31 to R2192-36 of the French Public Procurement Code, this sum "
                 "automatically bears late-payment interest at the European Central Bank rate plus 8 points, and "
                 "the fixed recovery indemnity of €40 per invoice is due (art. D2192-35).")
    if terms:
        if terms.get("percent") is not None:
            rate = format_percent(terms["percent"], language)
        else:
            rate = pgettext("law", "%(multiple)s times the legal interest rate") % {"multiple": terms["legal_multiple"]}
        return pgettext("law", "Under article L441-10 of the French Commercial Code, this sum is automatically "
                        "increased by late-payment interest at the rate set by our terms of sale: %(rate)s (and at "
                        "least three times the legal interest rate), and by the fixed recovery indemnity of €40 per "
                        "invoice (art. D441-5).") % {"rate": rate}
    return _("Under article L441-10 of the French Commercial Code and our terms of sale, this sum is automatically "
             "increased by late-payment interest at the European Central Bank rate plus 10 points, and by the fixed "
             "recovery indemnity of €40 per invoice (art. D441-5).")


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
    with translation.override(language):
        if city:
            return _("%(city)s, %(date)s") % {"city": city, "date": long}
        return pgettext("letter date without a city", "%(date)s") % {"date": long}


def interest_lines(context: dict, language: str) -> list[str]:
    """One line per invoice and half-year: from, to, days, rate (flagged when estimated) and amount."""
    currency = context.get("currency") or "EUR"
    out = []
    with translation.override(language):
        t = labels()
        for p in context.get("interest_periods") or []:
            values = {
                "number": p["number"], "start": format_day(p["start"], language), "end": format_day(p["end"], language),
                "days": format_days(p["days"], language), "rate": format_percent(p["rate"], language, html=True),
            }
            if p.get("base") is not None:
                values["base"] = format_money(p["base"], currency, language, html=True)
                line = pgettext("law", "Invoice %(number)s, from %(start)s to %(end)s, %(days)s on %(base)s at "
                                "%(rate)s") % values
            else:
                line = t["period"] % values
            if p["estimated"]:
                line += f" ({t['estimated']})"
            amount = format_money(p["amount"], currency, language, html=True)
            out.append(_("%(period)s: %(amount)s") % {"period": line, "amount": amount})
    return out


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
                recipient_lines: list[str] | None = None, logo: str = "", qr: str = "") -> str:
    """The letter's HTML from the documented message context (relance.channels.context).

    The claim is stated once: the table adds up the principal, the interest and the indemnity, and
    the payment box asks for `amount_to_pay`, the amount the QR code carries; the date to pay by is
    the message's (the body says it, once).
    """
    language = context.get("language") if context.get("language") in LANGUAGES else "fr"
    org = context["org"]
    customer = context["customer"]
    total_due = context.get("total_due") or ZERO
    claim = context.get("claim") or {"principal": total_due, "interest": ZERO, "indemnity": ZERO, "total": total_due}
    footer = " · ".join(x for x in [org["legal_name"], " ".join(org.get("address_lines") or []),
                                     f"SIREN {org['siren']}" if org.get("siren") else ""] if x)
    with translation.override(language):
        values = {
            **context,
            "language": language,
            "t": labels(),
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
            "legal_sentence": legal_sentence(customer.get("kind", "business"), context.get("interest_terms"),
                                             language),
            "interest_lines": interest_lines(context, language),
            "claim": claim,
            "amount_to_pay": context.get("amount_to_pay", claim["total"] if formal else total_due),
            "salutation": context.get("salutation") or pgettext("letter", "Dear Sir or Madam,"),
            "addressee": context.get("addressee") or pgettext("addressee", "Sir or Madam"),
            "previous_contacts": context.get("previous_contacts") or [],
            "payment_link": context.get("payment_link", ""),
        }
        return _env(language).get_template("letter/letter.html").render(values)


def render_pdf(html: str) -> bytes:
    return html_to_pdf(html, base_url=TEMPLATES_DIR)


def render_many(htmls: list[str]) -> bytes:
    return htmls_to_pdf(htmls, base_url=TEMPLATES_DIR)


def cover_html(org_name: str, day: date, letters: list[dict], language: str = "fr") -> str:
    """The print batch's first page: one row per letter, a blank for the registered-mail number."""
    language = language if language in LANGUAGES else "fr"
    with translation.override(language):
        t = labels()
        return _env(language).get_template("letter/cover.html").render(
            language=language, t=t, css=_css(), title=t["batch_title"], org_name=org_name, day=day, letters=letters,
        )
