"""Scenarios made before the escalation channel end without an escalation step: append the one the
shipped scenario of the same code (or, for a scenario of the organisation's own, the shipped scenario
its rule chooses) has. Marked by its step code, so that going back removes only what was added."""

from django.db import migrations

MARK = "escalation-auto"  # the code of the steps added here (no shipped step carries it)
AFTER_LAST = 15  # days after the last step, when the shipped offset would not come after it
OFFSET_MAX = 365  # relance.dunning.scenario_actions.OFFSET_MAX

# The escalation step of each shipped scenario: relance.dunning.defaults.SCENARIOS, frozen here (a
# migration does the same thing whatever the code becomes). (name, offset after the due date, kind)
SHIPPED = {
    "standard": ("Escalade : requête en injonction de payer", 45, "order_for_payment"),
    "high_risk": ("Escalade : dossier pour l'agence de recouvrement", 20, "collection_agency"),
    "strategic": ("Escalade : proposition de passage en perte", 45, "write_off"),
    "small_amount": ("Escalade : procédure simplifiée de recouvrement des petites créances", 45, "small_claims"),
    "consumer": ("Escalade : procédure simplifiée de recouvrement des petites créances", 60, "small_claims"),
    "public": ("Escalade : dossier de créance pour l'avocat (référé-provision) ou l'assureur-crédit", 75,
               "collection_agency"),
}
# The shipped scenario each rule chooses (relance.dunning.defaults.RULES): a scenario of the
# organisation's own chosen by such a rule escalates as that one does; chosen by none, or by the
# catch-all rule, by an order for payment.
BY_RULE = {("strategic", ""): "strategic", ("consumer", ""): "consumer", ("public", ""): "public",
           ("small_amount", ""): "small_amount", ("segment", "high"): "high_risk"}


def escalation_for(scenario, rule) -> tuple[str, int | None, str]:
    """(name, offset or None for "after the last step", kind) of the step `scenario` lacks."""
    if scenario.code in SHIPPED:
        return SHIPPED[scenario.code]
    shipped = BY_RULE.get((rule.condition, rule.value if rule.condition == "segment" else "")) if rule else None
    if shipped is not None:
        name, _offset, kind = SHIPPED[shipped]
        return name, None, kind
    return SHIPPED["standard"][0], None, "order_for_payment"


def add_escalation_steps(apps, schema_editor):
    Scenario = apps.get_model("dunning", "Scenario")  # noqa: N806 - historical models
    Step = apps.get_model("dunning", "Step")  # noqa: N806
    ScenarioRule = apps.get_model("dunning", "ScenarioRule")  # noqa: N806
    for scenario in Scenario.objects.order_by("pk").iterator():
        steps = list(Step.objects.filter(scenario=scenario).order_by("position"))
        if any(s.channel == "escalation" for s in steps) or any(s.code == MARK for s in steps):
            continue
        rule = ScenarioRule.objects.filter(scenario=scenario).order_by("position").first()
        name, offset, kind = escalation_for(scenario, rule)
        last = max(steps, key=lambda s: (s.offset_days, s.position), default=None)
        anchor = last.anchor if last is not None else "due"
        if offset is None or (last is not None and (last.anchor != "due" or offset <= last.offset_days)):
            offset = (last.offset_days if last is not None else 0) + AFTER_LAST
        Step.objects.create(
            scenario=scenario, position=max((s.position for s in steps), default=0) + 1, code=MARK, name=name,
            offset_days=min(offset, OFFSET_MAX), anchor=anchor, channel="escalation", template=kind, tone="formal",
        )


def remove_escalation_steps(apps, schema_editor):
    Step = apps.get_model("dunning", "Step")  # noqa: N806
    Step.objects.filter(code=MARK, channel="escalation").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("dunning", "0007_recovery_costs"),
    ]

    operations = [migrations.RunPython(add_escalation_steps, remove_escalation_steps)]
