"""Reads of the scenario and template editors: timelines, rules, usage counts, the template list, the
documented variables and the live preview (rendered by the sender's own renderer)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from relance.channels import context as context_module
from relance.channels import templates as tpl
from relance.channels.models import MessageTemplate
from relance.channels.sandbox import RenderBudgetExceeded
from relance.channels.template_actions import channel_of
from relance.dunning.models import Reminder, Scenario, ScenarioRule, Step
from relance.ledger.models import Customer

# The timeline's scale: J-5 to J+45, stretched when a step lies outside.
TIMELINE_START, TIMELINE_END = -5, 45
TICKS = (-5, 0, 15, 30, 45)
COLUMNS = 100  # the grid's columns (web/css/scenarios.css): a day's place is its share of the scale
USAGE_DAYS = 30
CHANNEL_ICONS = {"email": "✉", "sms": "💬", "letter": "📮", "call": "☎", "task": "⚑", "escalation": "⚖"}


@dataclass
class TimelineStep:
    step: Step
    column: int  # 1-based grid column of the day on the scale
    icon: str


@dataclass
class Timeline:
    start: int
    end: int
    steps: list[TimelineStep]
    ticks: list[tuple[int, int]] = field(default_factory=list)  # (day, column)

    def column(self, day: int) -> int:
        return round((day - self.start) * (COLUMNS - 1) / (self.end - self.start)) + 1


def timeline(steps: list[Step]) -> Timeline:
    """Each step placed on the scale by its day (offset from the due date), in position order."""
    start = min([TIMELINE_START, *(s.offset_days for s in steps)])
    end = max([TIMELINE_END, *(s.offset_days for s in steps)])
    out = Timeline(start, end, [])
    out.steps = [TimelineStep(s, out.column(s.offset_days), CHANNEL_ICONS.get(s.channel, "•"))
                 for s in sorted(steps, key=lambda s: s.position)]
    out.ticks = sorted({(d, out.column(d)) for d in (*TICKS, start, end)})
    return out


def list_scenarios(org, rules: list[ScenarioRule] | None = None) -> list[Scenario]:
    """The organisation's scenarios with their steps, rules, timeline and usage (four queries)."""
    scenarios = list(Scenario.objects.filter(organisation=org).order_by("-active", "name")
                     .prefetch_related(Prefetch("steps", queryset=Step.objects.order_by("position"))))
    assigned = dict(Customer.objects.filter(organisation=org, scenario__isnull=False)
                    .values_list("scenario").annotate(n=Count("id")).values_list("scenario", "n"))
    since = timezone.localdate() - timedelta(days=USAGE_DAYS)
    reminded = dict(Reminder.objects.filter(organisation=org, run_date__gte=since)
                    .values_list("scenario_code").annotate(n=Count("customer_id", distinct=True))
                    .values_list("scenario_code", "n"))
    rules = list_rules(org) if rules is None else rules
    for s in scenarios:
        s.timeline = timeline(list(s.steps.all()))
        s.assigned_count = assigned.get(s.pk, 0)
        s.reminded_count = reminded.get(s.code, 0)
        s.rule_list = [r for r in rules if r.scenario_id == s.pk]
    return scenarios


def list_rules(org) -> list[ScenarioRule]:
    return list(ScenarioRule.objects.filter(organisation=org).select_related("scenario").order_by("position"))


def get_scenario(org, pk: int) -> Scenario | None:
    return Scenario.objects.filter(organisation=org, pk=pk).first()


def known_template_codes() -> list[str]:
    return tpl.list_shipped_codes()


# --- templates --------------------------------------------------------------------------------


@dataclass
class TemplateRow:
    code: str
    language: str
    channel: str
    parts: list[str]
    edited: MessageTemplate | None
    used_by: list[str]


def list_templates(org) -> list[TemplateRow]:
    """Every shipped template per language, with the organisation's copy when it has one (2 queries)."""
    edited = {(m.code, m.language): m for m in MessageTemplate.objects.filter(organisation=org)
              .select_related("updated_by").only("code", "language", "channel", "updated_at", "updated_by__username")}
    used: dict[str, list[str]] = {}
    for code, name in (Step.objects.filter(scenario__organisation=org).values_list("template", "scenario__name")
                       .distinct().order_by("scenario__name")):
        used.setdefault(code, []).append(name)
    rows = []
    for code in tpl.list_shipped_codes():
        for language in tpl.LANGUAGES:
            parts = [p for p in tpl.PARTS if tpl.shipped_path(code, language, p).exists()]
            if parts:
                rows.append(TemplateRow(code, language, channel_of(code), parts, edited.get((code, language)),
                                        used.get(code, [])))
    return rows


def template_sources(org, code: str, language: str) -> tuple[dict[str, str], MessageTemplate | None]:
    """The parts shown in the editor: the organisation's copy, else the shipped text."""
    edited = MessageTemplate.objects.filter(organisation=org, code=code, language=language).first()
    if edited is not None:
        return {"subject": edited.subject, "text": edited.body_text, "html": edited.body_html}, edited
    return {p: tpl.shipped_source(code, language, p) or "" for p in tpl.PARTS}, None


_VARIABLE = re.compile(r"^    (\w[\w, ]*?)\s{2,}(\S.*)$")


def documented_variables() -> list[tuple[str, str]]:
    """(name, what it holds) of every variable a template may use, from relance.channels.context."""
    out: list[tuple[str, str]] = []
    for line in (context_module.__doc__ or "").splitlines():
        match = _VARIABLE.match(line)
        if match:
            out.append((match.group(1), match.group(2).strip()))
        elif out and line.startswith("     ") and line.strip():
            name, text = out[-1]
            out[-1] = (name, f"{text} {line.strip()}")
    return out


# --- preview ----------------------------------------------------------------------------------


@dataclass
class Preview:
    subject: str = ""
    text: str = ""
    html: str = ""
    errors: list[str] = field(default_factory=list)
    customer: Customer | None = None


def preview_context(org, customer: Customer | None, code: str, language: str) -> dict:
    """The context the sender builds for this customer (their open invoices), or the sample one."""
    if customer is None:
        return {**context_module.sample_context(language), "channel": channel_of(code)}
    invoices = context_module.list_open_invoices(customer)
    # As templates.preview: a formal notice asks for the total claimed (interest and indemnity included).
    step = {"code": "", "tone": "formal" if code == "formal_notice" else "friendly"}
    return context_module.build_customer_context(org, customer, invoices, language, step=step,
                                                 channel=channel_of(code))


def preview_draft(org, customer: Customer | None, code: str, language: str, sources: dict[str, str]) -> Preview:
    """Render unsaved parts as the sender would: validated first (as at save), then through
    `templates.render` with the draft standing for the organisation's copy, within the render budget."""
    out = Preview(customer=customer)
    for part, source in sources.items():
        if source:
            out.errors += [f"{PART_LABELS[part]} — {p}" for p in tpl.validate_template(source, part, language)]
    if out.errors:
        return out
    draft = MessageTemplate(organisation=org, code=code, language=language, subject=sources.get("subject", ""),
                            body_text=sources.get("text", ""), body_html=sources.get("html", ""))
    context = preview_context(org, customer, code, language)
    for part in tpl.PARTS:
        try:
            setattr(out, part, tpl.render(code, language, context, part, org, edited=draft))
        except RenderBudgetExceeded as exc:
            out.errors.append(f"{PART_LABELS[part]} — {exc.message}")
        except Exception as exc:  # noqa: BLE001 - whatever the template does, the editor shows it
            out.errors.append(f"{PART_LABELS[part]} — {type(exc).__name__} : {exc}")
    return out


PART_LABELS = {"subject": pgettext_lazy("editor", "Subject"), "text": pgettext_lazy("editor", "Text"), "html": "HTML"}


def find_customer(org, external_id: str) -> Customer | None:
    external_id = (external_id or "").strip()
    if not external_id:
        return None
    return Customer.objects.filter(organisation=org, external_id=external_id).first()


def suggested_customers(org, limit: int = 20) -> list[Customer]:
    """A few customers to preview with: those with the latest reminders, else the first by name."""
    ids = list(Reminder.objects.filter(organisation=org).order_by("-run_date", "-id")
               .values_list("customer_id", flat=True)[: limit * 3])
    seen = list(dict.fromkeys(ids))[:limit]
    found = {c.pk: c for c in Customer.objects.filter(organisation=org, pk__in=seen).only("external_id", "name")}
    out = [found[i] for i in seen if i in found]
    if len(out) < limit:
        out += list(Customer.objects.filter(organisation=org).exclude(pk__in=seen)
                    .only("external_id", "name").order_by("name")[: limit - len(out)])
    return out
