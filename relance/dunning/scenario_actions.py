"""The writes of the scenario editor: scenarios, their steps and the rules that choose them.

What was already sent is never sent again because of an edit: a step keeps its code for life (the
reminders, their lines and every invoice's schedule refer to it: `Reminder.step_code`,
`ReminderLine.step_code` unique per invoice, `InvoiceSchedule.last_step`), so editing a step changes
what happens next, never what happened. A new step gets a code no reminder of the scenario ever
carried; a removed step's invoices go on with the next step by date (`rules.next_step`). Positions
always follow the days (the planner walks the steps in position order).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from relance.accounts.permissions import SETTINGS, require
from relance.audit import log as audit_log
from relance.channels.escalation import KINDS as ESCALATION_KINDS
from relance.channels.template_actions import channel_of
from relance.channels.templates import list_shipped_codes
from relance.dunning.models import Anchor, Channel, Reminder, Scenario, ScenarioRule, Step, Tone
from relance.ledger.models import RiskSegment

OFFSET_MIN = -30  # days before the due (or issue) date
OFFSET_MAX = 365
GAP_MAX = 90
# The options a step may carry (read by StepSpec.build), with their bounds.
CALL_WINDOW_MAX = 20
STEP_FIELDS = ("name", "offset_days", "anchor", "channel", "template", "tone", "needs_approval", "registered",
               "min_gap_days", "options")


def _steps(scenario: Scenario) -> list[Step]:
    return list(Step.objects.filter(scenario=scenario).order_by("position"))


def check_step(values: dict, others: list[Step]) -> None:
    """Raise ValidationError (French, per field) when a step's values are unusable next to `others`."""
    SHIPPED = set(list_shipped_codes())  # noqa: N806
    errors: dict[str, list[str]] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors.setdefault("name", []).append("donnez un nom à l'étape")
    offset = values.get("offset_days")
    if not isinstance(offset, int) or not OFFSET_MIN <= offset <= OFFSET_MAX:
        errors.setdefault("offset_days", []).append(
            f"le jour doit être compris entre J{OFFSET_MIN} et J+{OFFSET_MAX} (reçu : {offset})")
    channel = values.get("channel")
    if channel not in Channel.values:
        errors.setdefault("channel", []).append(f"canal inconnu « {channel} »")
    if values.get("tone") not in Tone.values:
        errors.setdefault("tone", []).append(f"ton inconnu « {values.get('tone')} »")
    if values.get("anchor", Anchor.DUE) not in Anchor.values:
        errors.setdefault("anchor", []).append(f"date de référence inconnue « {values.get('anchor')} »")
    gap = values.get("min_gap_days", 5)
    if not isinstance(gap, int) or not 0 <= gap <= GAP_MAX:
        errors.setdefault("min_gap_days", []).append(f"l'écart minimal doit être compris entre 0 et {GAP_MAX} jours")
    if channel != Channel.TASK and not (values.get("template") or "").strip():
        errors.setdefault("template", []).append("choisissez le modèle de message de l'étape")
    template = (values.get("template") or "").strip()
    # An SMS must fit its text: only an SMS template goes by SMS, and an SMS template by nothing else.
    written_for = channel_of(template) if template in SHIPPED else None
    if written_for and (channel == Channel.SMS) != (written_for == Channel.SMS):
        errors.setdefault("template", []).append(
            f"le modèle « {template} » est écrit pour un {Channel(written_for).label}, pas pour un "
            f"{Channel(channel).label if channel in Channel.values else channel}")
    if channel == Channel.ESCALATION and template not in ESCALATION_KINDS:
        errors.setdefault("template", []).append(
            f"type d'escalade inconnu « {template} » ; attendu : {', '.join(ESCALATION_KINDS)}")
    if values.get("registered") and channel != Channel.LETTER:
        errors.setdefault("registered", []).append("seul un courrier peut partir en recommandé")
    options = values.get("options") or {}
    within = options.get("unless_call_outcome_within_business_days")
    if within is not None and (not isinstance(within, int) or not 1 <= within <= CALL_WINDOW_MAX):
        errors.setdefault("options", []).append(
            f"le délai laissé à l'appel doit être compris entre 1 et {CALL_WINDOW_MAX} jours ouvrés")
    if isinstance(offset, int) and channel:
        anchor = values.get("anchor", Anchor.DUE)
        for other in others:
            if other.offset_days == offset and other.channel == channel and other.anchor == anchor:
                errors.setdefault("offset_days", []).append(
                    f"l'étape « {other.name} » part déjà le même jour (J{offset:+d}) par le même canal "
                    f"({Channel(channel).label}) : changez le jour ou le canal")
    if errors:
        raise ValidationError(errors)


def _renumber(scenario: Scenario) -> None:
    """Positions in day order (ties keep their order), written in two passes for the unique constraint."""
    steps = sorted(_steps(scenario), key=lambda s: (s.offset_days, s.position))
    for i, step in enumerate(steps, start=1):
        Step.objects.filter(pk=step.pk).update(position=10_000 + i)
    for i, step in enumerate(steps, start=1):
        Step.objects.filter(pk=step.pk).update(position=i)


def _used_codes(scenario: Scenario) -> set[str]:
    """Step codes of the scenario now, and those its reminders ever carried (a deleted step's code)."""
    codes = set(Step.objects.filter(scenario=scenario).values_list("code", flat=True))
    codes |= set(Reminder.objects.filter(organisation_id=scenario.organisation_id, scenario_code=scenario.code)
                 .values_list("step_code", flat=True).distinct())
    return codes


def _fresh_code(base: str, used: set[str], max_length: int = 40) -> str:
    base = (slugify(base) or "etape")[: max_length - 4].strip("-") or "etape"
    code, n = base, 2
    while code in used:
        code, n = f"{base}-{n}", n + 1
    return code


def _clean_values(values: dict) -> dict:
    out = {k: values[k] for k in STEP_FIELDS if k in values}
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
    if "template" in out:
        out["template"] = (out["template"] or "").strip()
    if out.get("options") is None and "options" in out:
        out["options"] = {}
    return out


@transaction.atomic
def add_step(scenario: Scenario, *, user, **values) -> Step:
    """A new step, with a code of its own that no reminder of the scenario ever carried."""
    require(user, scenario.organisation_id, SETTINGS)
    values = _clean_values(values)
    values.setdefault("anchor", Anchor.DUE)
    values.setdefault("tone", Tone.FRIENDLY)
    values.setdefault("min_gap_days", 5)
    check_step(values, _steps(scenario))
    position = (max((s.position for s in _steps(scenario)), default=0)) + 1
    step = Step.objects.create(scenario=scenario, position=position, code=_fresh_code(values["name"],
                               _used_codes(scenario)), **values)
    _renumber(scenario)
    step.refresh_from_db()
    _record("scenario.step_added", step, user)
    return step


def _record(kind: str, step: Step, user, data: dict | None = None) -> None:
    # In the action's transaction: the scenario's change and its entry commit together.
    scenario = step.scenario
    audit_log.record(kind, step, user, {"scenario": scenario.code, **(data or {})}, org=scenario.organisation_id,
                     label=f"{scenario.code}/{step.code}")


@transaction.atomic
def edit_step(step: Step, *, user, **values) -> Step:
    """Change what the step does from now on; its code (what the history refers to) stays."""
    require(user, step.scenario.organisation_id, SETTINGS)
    values = _clean_values(values)
    merged = {f: getattr(step, f) for f in STEP_FIELDS} | values
    check_step(merged, [s for s in _steps(step.scenario) if s.pk != step.pk])
    Step.objects.filter(pk=step.pk).update(**values)
    _renumber(step.scenario)
    step.refresh_from_db()
    _record("scenario.step_changed", step, user, {"changed": sorted(values)})
    return step


def move_step(step: Step, days: int, *, user) -> Step:
    """Move a step by `days` on the timeline (negative: earlier)."""
    return edit_step(step, user=user, offset_days=step.offset_days + int(days))


@transaction.atomic
def remove_step(step: Step, *, user) -> None:
    """Remove a step: invoices that were at it go on with the next step by date."""
    scenario = step.scenario
    require(user, scenario.organisation_id, SETTINGS)
    if Step.objects.filter(scenario=scenario).count() <= 1:
        raise ValidationError("un scénario garde au moins une étape : ajoutez-en une autre avant de retirer celle-ci")
    _record("scenario.step_removed", step, user)
    Step.objects.filter(pk=step.pk).delete()
    _renumber(scenario)


@transaction.atomic
def update_scenario(scenario: Scenario, *, user, name: str, description: str = "", active: bool = True
                    ) -> Scenario:
    """Rename a scenario, describe it, switch it on or off (its code never changes)."""
    require(user, scenario.organisation_id, SETTINGS)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["donnez un nom au scénario"]
    elif Scenario.objects.filter(organisation_id=scenario.organisation_id, name__iexact=name).exclude(
            pk=scenario.pk).exists():
        errors["name"] = [f"un autre scénario s'appelle déjà « {name} »"]
    if not active and scenario.active and not Scenario.objects.filter(
            organisation_id=scenario.organisation_id, active=True).exclude(pk=scenario.pk).exists():
        errors["active"] = ["il faut au moins un scénario actif"]
    if errors:
        raise ValidationError(errors)
    Scenario.objects.filter(pk=scenario.pk).update(name=name, description=description.strip(), active=active)
    scenario.refresh_from_db()
    audit_log.record("scenario.updated", scenario, user, org=scenario.organisation_id, label=scenario.code)
    return scenario


@transaction.atomic
def copy_scenario(scenario: Scenario, *, user, name: str) -> Scenario:
    """A new scenario with the same steps (same step codes: an invoice moved to the copy does not get a
    step it already had), to edit apart."""
    org_id = scenario.organisation_id
    require(user, org_id, SETTINGS)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["donnez un nom au nouveau scénario"]})
    if Scenario.objects.filter(organisation_id=org_id, name__iexact=name).exists():
        raise ValidationError({"name": [f"un scénario s'appelle déjà « {name} »"]})
    used = set(Scenario.objects.filter(organisation_id=org_id).values_list("code", flat=True))
    used |= set(Reminder.objects.filter(organisation_id=org_id).values_list("scenario_code", flat=True).distinct())
    copy = Scenario.objects.create(organisation_id=org_id, code=_fresh_code(name, used), name=name,
                                   description=scenario.description, active=True)
    Step.objects.bulk_create([
        Step(scenario=copy, **{f: getattr(s, f) for f in ("position", "code", *STEP_FIELDS)})
        for s in _steps(scenario)
    ])
    audit_log.record("scenario.copied", copy, user, {"from": scenario.code}, org=org_id, label=copy.code)
    return copy


def check_rules(org_id: int, rules: list[dict]) -> None:
    """Each rule: {condition, value, scenario (a Scenario of the organisation)}; French errors by row."""
    errors: list[str] = []
    always_at = None
    for n, rule in enumerate(rules, start=1):
        condition, value = rule.get("condition"), (rule.get("value") or "").strip()
        scenario = rule.get("scenario")
        if condition not in ScenarioRule.Condition.values:
            errors.append(f"règle {n} : condition inconnue « {condition} »")
            continue
        if scenario is None or scenario.organisation_id != org_id:
            errors.append(f"règle {n} : choisissez un scénario")
        if condition == ScenarioRule.Condition.SEGMENT and value not in RiskSegment.values:
            labels = ", ".join(str(label) for label in RiskSegment.labels)
            errors.append(f"règle {n} : choisissez le segment de risque ({labels})")
        if condition == ScenarioRule.Condition.SMALL_AMOUNT and value:
            try:
                if Decimal(value.replace(",", ".").replace(" ", "")) <= 0:
                    raise InvalidOperation
            except InvalidOperation:
                errors.append(f"règle {n} : le seuil « {value} » n'est pas un montant positif")
        if condition == ScenarioRule.Condition.ALWAYS and always_at is None:
            always_at = n
        if always_at is not None and n > always_at:
            errors.append(f"règle {n} : jamais appliquée, la règle {always_at} (« sinon ») s'applique avant")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def set_rules(org, rules: list[dict], *, user) -> list[ScenarioRule]:
    """Replace the organisation's scenario rules (tried in this order, the first that matches wins)."""
    require(user, org, SETTINGS)
    check_rules(org.pk, rules)
    ScenarioRule.objects.filter(organisation=org).delete()
    out = []
    for position, rule in enumerate(rules, start=1):
        value = (rule.get("value") or "").strip()
        if rule["condition"] == ScenarioRule.Condition.SMALL_AMOUNT and value:
            value = str(Decimal(value.replace(",", ".").replace(" ", "")))
        elif rule["condition"] not in (ScenarioRule.Condition.SEGMENT, ScenarioRule.Condition.SMALL_AMOUNT):
            value = ""
        out.append(ScenarioRule.objects.create(organisation=org, position=position, condition=rule["condition"],
                                               value=value, scenario=rule["scenario"]))
    audit_log.record("scenario.rules_set", org, user, {"rules": [
        {"condition": r.condition, "value": r.value, "scenario": r.scenario.code} for r in out]})
    return out
