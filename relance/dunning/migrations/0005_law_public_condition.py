# The "public" rule condition, and the public buyers' scenario for organisations created before it
# (new ones get it from relance.dunning.defaults). Steps frozen here as shipped in December 2026.

from django.db import migrations, models

PUBLIC_STEPS = [
    ("first", "Relance au service facturier (Chorus Pro)", 5, "email", "first_reminder", "friendly", {}),
    ("call", "Appel au service ordonnateur", 15, "call", "call_script", "firm", {}),
    ("firm", "Relance ferme : intérêts moratoires et indemnité", 21, "email", "firm_reminder", "firm",
     {"min_gap_days": 3}),
    ("formal-notice", "Mise en demeure (LRAR)", 45, "letter", "formal_notice", "formal",
     {"needs_approval": True, "registered": True}),
]


def add_public_scenario(apps, schema_editor):
    Organisation = apps.get_model("accounts", "Organisation")
    Scenario = apps.get_model("dunning", "Scenario")
    Step = apps.get_model("dunning", "Step")
    ScenarioRule = apps.get_model("dunning", "ScenarioRule")
    for org in Organisation.objects.all():
        if not Scenario.objects.filter(organisation=org).exists():
            continue  # installed with the defaults when first needed
        if Scenario.objects.filter(organisation=org, code="public").exists():
            continue
        scenario = Scenario.objects.create(organisation=org, code="public", name="Acheteur public")
        for position, (code, name, offset, channel, template, tone, extra) in enumerate(PUBLIC_STEPS, start=1):
            Step.objects.create(scenario=scenario, position=position, code=code, name=name, offset_days=offset,
                                channel=channel, template=template, tone=tone, **extra)
        rules = list(ScenarioRule.objects.filter(organisation=org).order_by("position"))
        after = next((r.position for r in rules if r.condition == "consumer"), 0)
        for rule in reversed(rules):  # make room right after the consumer rule (first match wins)
            if rule.position > after:
                rule.position += 1
                rule.save(update_fields=["position"])
        ScenarioRule.objects.create(organisation=org, position=after + 1, condition="public", value="",
                                    scenario=scenario)


class Migration(migrations.Migration):

    dependencies = [
        ('dunning', '0004_outbox_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='scenariorule',
            name='condition',
            field=models.CharField(choices=[('strategic', 'client stratégique'), ('consumer', 'particulier'), ('public', 'acheteur public'), ('small_amount', 'total dû sous le seuil'), ('segment', 'segment de risque'), ('always', 'sinon')], max_length=14),
        ),
        migrations.RunPython(add_public_scenario, migrations.RunPython.noop),
    ]
