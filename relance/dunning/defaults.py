"""The scenarios and scenario rules every organisation starts with (then edited as data)."""

from __future__ import annotations

from django.db import transaction

from relance.accounts.models import Organisation
from relance.dunning.models import Scenario, ScenarioRule, Step
from relance.dunning.state import Config, Policy, RuleSpec, ScenarioSpec, StepSpec

# (code, name, offset, channel, template, tone, extra fields)
_S = tuple[str, str, int, str, str, str, dict]

SCENARIOS: dict[str, tuple[str, list[_S]]] = {
    "standard": (
        "B2B standard",
        [
            ("pre-due", "Rappel amical avant échéance", -3, "email", "friendly_reminder", "friendly", {}),
            ("first", "Relance structurée", 5, "email", "first_reminder", "friendly", {}),
            ("call", "Appel au service comptable", 12, "call", "call_script", "firm", {}),
            # Sent only when no call outcome was logged within 2 business days of the call task.
            ("firm", "Relance ferme avec pénalités", 14, "email", "firm_reminder", "firm",
             {"min_gap_days": 2, "options": {"unless_call_outcome_within_business_days": 2}}),
            ("sms", "SMS bref", 18, "sms", "sms_reminder", "firm", {"min_gap_days": 3}),
            ("formal-notice", "Mise en demeure (LRAR)", 30, "letter", "formal_notice", "formal",
             {"needs_approval": True, "registered": True}),
            ("escalation", "Escalade : requête en injonction de payer", 45, "escalation",
             "order_for_payment", "formal", {}),
        ],
    ),
    "high_risk": (
        "Risque élevé",
        [
            ("pre-due", "Rappel avant échéance", -5, "email", "friendly_reminder", "friendly", {}),
            ("first", "Relance au lendemain de l'échéance", 1, "email", "first_reminder", "firm", {}),
            # One step: the firm e-mail goes and the collector gets a call task the same day.
            ("firm", "Relance ferme et appel", 5, "email", "firm_reminder", "firm",
             {"min_gap_days": 4, "options": {"with_call_task": True}}),
            ("sms", "SMS", 8, "sms", "sms_reminder", "firm", {"min_gap_days": 3}),
            ("formal-notice", "Mise en demeure (LRAR)", 12, "letter", "formal_notice", "formal",
             {"needs_approval": True, "registered": True, "min_gap_days": 4}),
            ("escalation", "Escalade : dossier pour l'agence de recouvrement", 20, "escalation",
             "collection_agency", "formal", {}),
        ],
    ),
    "strategic": (
        "Compte stratégique",
        [
            ("pre-due-call", "Appel du chargé de compte avant échéance", -5, "call", "call_script", "friendly", {}),
            ("personal", "E-mail personnel du chargé de compte", 3, "email", "first_reminder", "friendly", {}),
            ("call", "Appel", 10, "call", "call_script", "firm", {}),
            ("formal", "Courrier formel", 20, "letter", "formal_notice", "formal", {"needs_approval": True}),
            # A strategic account is not taken to court by the engine: the owner decides on the loss.
            ("escalation", "Escalade : proposition de passage en perte", 45, "escalation", "write_off", "formal", {}),
        ],
    ),
    "small_amount": (
        "Petit montant",
        [
            ("first", "Relance unique", 7, "email", "first_reminder", "friendly", {}),
            ("formal-notice", "Mise en demeure", 21, "letter", "formal_notice", "formal",
             {"registered": True, "needs_approval": True}),
            ("escalation", "Escalade : procédure simplifiée de recouvrement des petites créances", 45, "escalation",
             "small_claims", "formal", {}),
        ],
    ),
    "consumer": (
        "Particulier",
        [
            ("pre-due", "Rappel avant échéance", -3, "email", "friendly_reminder", "friendly", {}),
            ("first", "Relance", 5, "email", "first_reminder", "friendly", {}),
            ("sms", "SMS", 15, "sms", "sms_reminder", "firm", {}),
            ("formal-notice", "Mise en demeure (sans indemnité forfaitaire)", 30, "letter", "formal_notice",
             "formal", {"needs_approval": True, "registered": True}),
            ("escalation", "Escalade : procédure simplifiée de recouvrement des petites créances", 60, "escalation",
             "small_claims", "formal", {}),
        ],
    ),
    # Public buyers (Code de la commande publique): 30-day term (R2192-10), interest at ECB + 8 points and
    # the 40 EUR indemnity owed without a reminder (R2192-31, D2192-35); no SMS to an administration.
    "public": (
        "Acheteur public",
        [
            ("first", "Relance au service facturier (Chorus Pro)", 5, "email", "first_reminder", "friendly", {}),
            ("call", "Appel au service ordonnateur", 15, "call", "call_script", "firm", {}),
            ("firm", "Relance ferme : intérêts moratoires et indemnité", 21, "email", "firm_reminder", "firm",
             {"min_gap_days": 3}),
            ("formal-notice", "Mise en demeure (LRAR)", 45, "letter", "formal_notice", "formal",
             {"needs_approval": True, "registered": True}),
            # No injonction de payer against a public person: the claim goes to the administrative court
            # (référé-provision, CJA R541-1) through a lawyer, or to a credit insurer; the file is the same.
            ("escalation", "Escalade : dossier de créance pour l'avocat (référé-provision) ou l'assureur-crédit", 75,
             "escalation", "collection_agency", "formal", {}),
        ],
    ),
}

# First match wins; the explicit per-customer scenario is checked before these.
RULES = [
    ("strategic", "", "strategic"),
    ("consumer", "", "consumer"),
    ("public", "", "public"),
    ("small_amount", "", "small_amount"),
    ("segment", "high", "high_risk"),
    ("always", "", "standard"),
]


@transaction.atomic
def install_default_scenarios(org: Organisation) -> None:
    """Create the shipped scenarios and rules when the organisation has none (idempotent)."""
    if org.scenarios.exists():
        return
    by_code = {}
    for code, (name, steps) in SCENARIOS.items():
        scenario = Scenario.objects.create(organisation=org, code=code, name=name)
        by_code[code] = scenario
        for position, (scode, sname, offset, channel, template, tone, extra) in enumerate(steps, start=1):
            Step.objects.create(
                scenario=scenario, position=position, code=scode, name=sname, offset_days=offset,
                channel=channel, template=template, tone=tone, **extra,
            )
    for position, (condition, value, code) in enumerate(RULES, start=1):
        ScenarioRule.objects.create(
            organisation=org, position=position, condition=condition, value=value, scenario=by_code[code]
        )


def default_config(policy: Policy | None = None) -> Config:
    """The shipped scenarios and rules as planner data (tests, benchmarks, forecasts without a database)."""
    scenarios = {}
    for code, (name, steps) in SCENARIOS.items():
        specs = []
        for position, (scode, _sname, offset, channel, template, tone, extra) in enumerate(steps, start=1):
            extra = dict(extra)
            specs.append(
                StepSpec.build(
                    scode, position, offset, channel, extra.pop("options", None), template=template, tone=tone,
                    **extra,
                )
            )
        scenarios[code] = ScenarioSpec(code, tuple(specs), name=name)
    rules = tuple(RuleSpec(condition, value, code) for condition, value, code in RULES)
    return Config(scenarios=scenarios, rules=rules, policy=policy or Policy())
