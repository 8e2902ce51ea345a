"""Message templates: Jinja2 in a sandbox, strict about unknown names, with Babel filters.

A message template has up to three parts, as healthchecks' e-mail templates do:
`subject`, `text` and `html`. The shipped defaults live in files
(`templates/messages/<lang>/<code>-subject.txt`, `-body.txt`, `-body.html`); an organisation's
edited copy (`MessageTemplate`) replaces them. The variables a template may use are the ones
`relance.channels.context` documents; `validate_template()` refuses anything else, with its line.

Filters: `money` (1 500,00 € / €1,500.00), `date` (30/06/2026 / 30 Jun 2026; `date("long")` gives
30 juin 2026), `days` (12 jours / 12 days), `percent` (12,15 % / 12.15%), `iban` (groups of four).
Amounts in text parts use plain spaces (SMS stays in GSM-7), in HTML no-break spaces (an amount
never wraps).

Shared parts (the payment box, the signature) exist once per language, in
`templates/messages/<lang>/parts/`: a template writes `{% include "parts/signature.txt" %}`
(healthchecks' e-mails extend and include the same way). The sandbox's loader reads only there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal
from babel.numbers import format_percent as babel_format_percent
from django.utils import translation
from django.utils.translation import ngettext
from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from relance.channels.sandbox import MAX_SECONDS, BudgetedSandbox, RenderBudgetExceeded, budget

if TYPE_CHECKING:
    from relance.accounts.models import Organisation
    from relance.ledger.models import Customer

MESSAGES_DIR = Path(__file__).resolve().parent / "templates" / "messages"
LANGUAGES = ("fr", "en")
PARTS = {"subject": "-subject.txt", "text": "-body.txt", "html": "-body.html"}
# Babel locales: French amounts for France; English dates as "30 Jun 2026" (unambiguous).
LOCALES = {"fr": "fr_FR", "en": "en"}
DATE_FORMATS = {"fr": {"short": "dd/MM/y", "long": "d MMMM y"}, "en": {"short": "d MMM y", "long": "d MMMM y"}}
TEMPLATE_NAME = "<template>"
# Validation renders the small sample context: a sound template takes milliseconds.
VALIDATE_SECONDS = 1.0
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


class TemplateNotFound(LookupError):
    pass


@dataclass(frozen=True)
class TemplateProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"ligne {self.line} : {self.message}" if self.line else self.message


@dataclass
class RenderedMessage:
    subject: str
    text: str
    html: str


# --- formatting -------------------------------------------------------------------------------


def locale_for(language: str) -> str:
    return LOCALES.get(language, LOCALES["fr"])


def format_money(amount: Decimal | int | str | None, currency: str = "EUR", language: str = "fr",
                 html: bool = False) -> str:
    """1 500,00 € in French, €1,500.00 in English; no-break spaces when `html`."""
    if amount is None or amount == "":
        return ""
    text = format_currency(Decimal(amount), currency or "EUR", locale=locale_for(language))
    return _spaces(text, html)


def _spaces(text: str, html: bool) -> str:
    # Babel's narrow no-break spaces: no-break in HTML (never wraps), plain in text (SMS stays GSM-7).
    if html:
        return text.replace("\u202f", "\u00a0")
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def format_day(value: date | datetime | None, language: str = "fr", style: str = "short") -> str:
    """30/06/2026 (fr) or 30 Jun 2026 (en); style "long": 30 juin 2026; else a Babel pattern."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.date()
    pattern = DATE_FORMATS.get(language, DATE_FORMATS["fr"]).get(style, style)
    return babel_format_date(value, pattern, locale=locale_for(language))


def format_days(count: int | None, language: str = "fr") -> str:
    """12 jours / 1 jour, 12 days / 1 day (Babel's plural rule of the language)."""
    if count is None or count == "":
        return ""
    n = int(count)
    locale = Locale.parse(locale_for(language))
    with translation.override(language):
        return ngettext("%(count)s day", "%(count)s days", abs(n)) % {"count": format_decimal(n, locale=locale)}


def format_percent(value: Decimal | None, language: str = "fr", html: bool = False) -> str:
    """12,15 % (fr) or 12.15% (en), for a rate given in percent: the locale's percent pattern, two decimals."""
    if value is None or value == "":
        return ""
    locale = Locale.parse(locale_for(language))
    pattern = locale.percent_formats[None].pattern.replace("0", "0.00", 1)
    text = babel_format_percent(Decimal(value) / 100, pattern, locale=locale)
    return _spaces(text, html)


def format_iban(value: str | None) -> str:
    """FR14 2004 1010 0505 0001 3M02 606: groups of four, as printed on a RIB."""
    compact = "".join((value or "").split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _language(ctx: Context) -> str:
    lang = ctx.get("language")
    return lang if lang in LANGUAGES else "fr"


# --- environments -----------------------------------------------------------------------------


def _make_env(html: bool, language: str = "fr") -> SandboxedEnvironment:
    # With a render budget: an organisation's template must not hang the sender (see sandbox.py).
    env = BudgetedSandbox(
        loader=FileSystemLoader(MESSAGES_DIR / language), undefined=StrictUndefined, autoescape=html,
        keep_trailing_newline=False,
        trim_blocks=True, lstrip_blocks=True, auto_reload=False, cache_size=0,
    )

    @pass_context
    def money(ctx: Context, amount, currency: str | None = None) -> str:
        return format_money(amount, currency or ctx.get("currency") or "EUR", _language(ctx), html=html)

    @pass_context
    def day(ctx: Context, value, style: str = "short") -> str:
        return format_day(value, _language(ctx), style)

    @pass_context
    def days(ctx: Context, count) -> str:
        return format_days(count, _language(ctx))

    @pass_context
    def percent(ctx: Context, value) -> str:
        return format_percent(value, _language(ctx), html=html)

    env.filters.update(money=money, date=day, days=days, iban=format_iban, percent=percent)
    return env


# One environment per language: its loader finds that language's shared parts.
_ENVS = {(html, lang): _make_env(html, lang) for html in (False, True) for lang in LANGUAGES}


def environment(part: str, language: str = "fr") -> SandboxedEnvironment:
    return _ENVS[(part == "html", language if language in LANGUAGES else "fr")]


@lru_cache(maxsize=512)
def _compile(part: str, source: str, language: str = "fr"):
    # Compiling costs far more than rendering: a batch of 10,000 e-mails compiles each part once.
    return environment(part, language).from_string(source)


# --- sources ----------------------------------------------------------------------------------


def shipped_path(code: str, language: str, part: str) -> Path:
    if part not in PARTS:
        raise ValueError(f"unknown template part {part!r}; expected one of {', '.join(PARTS)}")
    return MESSAGES_DIR / language / f"{code}{PARTS[part]}"


@lru_cache(maxsize=512)
def shipped_source(code: str, language: str, part: str) -> str | None:
    """The shipped default of one part, or None when that part does not exist (SMS has no HTML)."""
    path = shipped_path(code, language, part)
    return path.read_text(encoding="utf-8") if path.exists() else None


def list_shipped_codes() -> list[str]:
    codes = {p.name.split("-")[0] for p in (MESSAGES_DIR / "fr").glob("*-*.*")}
    return sorted(codes)


_NOT_LOADED = object()


def _edited(org: Organisation | None, code: str, language: str):
    if org is None:
        return None
    from relance.channels.models import MessageTemplate

    return MessageTemplate.objects.filter(organisation=org, code=code, language=language).first()


def get_source(code: str, language: str, part: str, org: Organisation | None = None, edited=_NOT_LOADED
               ) -> str | None:
    """The organisation's edited part when it has one, else the shipped default (language fallback fr)."""
    if language not in LANGUAGES:
        language = "fr"
    if edited is _NOT_LOADED:
        edited = _edited(org, code, language)
    if edited is not None:
        value = edited.part(part)
        return value if value else None
    source = shipped_source(code, language, part)
    if source is None and not any(shipped_path(code, language, p).exists() for p in PARTS):
        raise TemplateNotFound(f"no template {code!r} in {language!r}")
    return source


# --- rendering --------------------------------------------------------------------------------


def render_source(source: str, context: dict, part: str = "text", seconds: float = MAX_SECONDS) -> str:
    """Render a template source within the render budget (RenderBudgetExceeded, a permanent
    DeliveryError, when it takes too long, writes too much or recurses too deep)."""
    with budget(seconds):
        out = _compile(part, source, context.get("language") or "fr").render(context)
    if part == "subject":
        # A header: one line, whatever the template's line breaks.
        return " ".join(out.split())
    if part == "text":
        # Optional blocks and shared parts leave blank lines behind: one blank line between paragraphs.
        out = _BLANK_LINES.sub("\n\n", out)
    return out.strip() + "\n"


def render(template_code: str, language: str, context: dict, part: str, org: Organisation | None = None,
           edited=_NOT_LOADED) -> str:
    """Render one part ("subject", "text" or "html"); "" when the template has no such part."""
    source = get_source(template_code, language, part, org, edited)
    if source is None:
        return ""
    return render_source(source, {**context, "language": language}, part)


def render_message(template_code: str, language: str, context: dict, org: Organisation | None = None
                   ) -> RenderedMessage:
    """The three parts of a message (one query for the organisation's edited copy)."""
    edited = _edited(org, template_code, language if language in LANGUAGES else "fr")
    return RenderedMessage(*(render(template_code, language, context, p, org, edited)
                             for p in ("subject", "text", "html")))


def preview(org: Organisation, customer: Customer, template_code: str, language: str) -> RenderedMessage:
    """Render a template for a chosen customer with the real context (their open invoices)."""
    from relance.channels.context import build_customer_context, list_open_invoices

    invoices = list_open_invoices(customer)
    # A formal notice asks for the total claimed (interest and indemnity included): preview it so.
    step = {"code": "", "tone": "formal" if template_code == "formal_notice" else "friendly"}
    context = build_customer_context(org, customer, invoices, language, step=step)
    return render_message(template_code, language, context, org)


# --- validation -------------------------------------------------------------------------------


def validate_template(source: str, part: str = "text", language: str = "fr") -> list[TemplateProblem]:
    """Problems of a template source, each with its line: syntax errors, then unknown variables."""
    from relance.channels.context import sample_context

    env = environment(part, language)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(exc.lineno or 0, f"erreur de syntaxe : {exc.message}")]
    except (RecursionError, MemoryError):
        return [TemplateProblem(0, "modèle refusé : imbrication trop profonde")]
    sample = sample_context(language)
    problems = _static_problems(tree, sample)
    try:
        with budget(VALIDATE_SECONDS):
            env.from_string(source).render(sample)
    except (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError, LookupError,
            RenderBudgetExceeded) as exc:
        problem = TemplateProblem(_template_line(exc), _explain(exc))
        if not any(p.line == problem.line for p in problems):
            problems.append(problem)
    return sorted(set(problems), key=lambda p: (p.line, p.message))


def _static_problems(tree: nodes.Template, sample: dict) -> list[TemplateProblem]:
    """Unknown names anywhere (even in a branch the sample does not take), and unknown fields."""
    problems: list[TemplateProblem] = []
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    local |= {m.name for m in tree.find_all(nodes.Macro)}
    known = set(sample) | set(environment("text").globals) | local
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in known:
            problems.append(TemplateProblem(name.lineno, f"variable inconnue « {name.name} »"))
    # Loop variables over the documented lists take the shape of their items.
    shapes: dict[str, dict] = {}
    for loop in tree.find_all(nodes.For):
        if isinstance(loop.target, nodes.Name) and isinstance(loop.iter, nodes.Name):
            items = sample.get(loop.iter.name)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                shapes[loop.target.name] = items[0]
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name):
            base = attr.node.name
            shape = shapes.get(base) if base in shapes else sample.get(base)
            if isinstance(shape, dict) and attr.attr not in shape:
                problems.append(TemplateProblem(attr.lineno, f"champ inconnu « {base}.{attr.attr} »"))
    return problems


def _template_line(exc: BaseException) -> int:
    # Jinja rewrites tracebacks so that template frames carry the template's own line numbers.
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _explain(exc: BaseException) -> str:
    if isinstance(exc, RenderBudgetExceeded):
        return exc.message
    if isinstance(exc, UndefinedError):
        return f"variable inconnue : {exc.message}"
    if isinstance(exc, SecurityError):
        return f"opération interdite : {exc}"
    return f"{type(exc).__name__} : {exc}"


def problems_as_text(problems: list[TemplateProblem]) -> str:
    return "; ".join(str(p) for p in problems)

