"""dunning 0008: scenarios made before the escalation channel get the escalation step their shipped
counterpart has; run again it adds nothing; going back removes only what it added."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("dunning", "0007_recovery_costs")]
AFTER = [("dunning", "0008_escalation_for_existing")]


def migrate(targets):
    """Migrate to `targets`; the models as the database now has them (every app, as applied)."""
    MigrationExecutor(connection).migrate(targets)
    loader = MigrationExecutor(connection).loader
    return loader.project_state(sorted(loader.applied_migrations)).apps


def steps_of(apps, scenario_pk) -> list[tuple]:
    Step = apps.get_model("dunning", "Step")  # noqa: N806
    return list(Step.objects.filter(scenario_id=scenario_pk).order_by("position").values_list(
        "position", "code", "offset_days", "channel", "template", "tone"))


@pytest.mark.django_db(transaction=True)
def test_existing_scenarios_get_their_escalation_step_and_lose_only_that_going_back():
    apps = migrate(BEFORE)
    Organisation = apps.get_model("accounts", "Organisation")  # noqa: N806
    Scenario = apps.get_model("dunning", "Scenario")  # noqa: N806
    Step = apps.get_model("dunning", "Step")  # noqa: N806
    ScenarioRule = apps.get_model("dunning", "ScenarioRule")  # noqa: N806
    org = Organisation.objects.create(slug="old", legal_name="Ancienne SARL")

    def scenario(code, offsets, channel_last="letter", template_last="formal_notice"):
        s = Scenario.objects.create(organisation=org, code=code, name=code)
        for n, offset in enumerate(offsets, start=1):
            last = n == len(offsets)
            Step.objects.create(scenario=s, position=n, code=f"s{n}", name=f"étape {n}", offset_days=offset,
                                channel=channel_last if last else "email",
                                template=template_last if last else "first_reminder", tone="firm")
        return s

    standard = scenario("standard", [-3, 5, 30], channel_last="task", template_last="")  # an older task step
    public = scenario("public", [5, 21, 45])
    late_standard = Scenario.objects.create(organisation=org, code="standard-copy", name="copie")
    small = scenario("petits", [7, 21])
    other = scenario("maison", [3, 10])
    done = scenario("high_risk", [1, 12, 20], channel_last="escalation", template_last="collection_agency")
    # "standard" edited to run later than the shipped escalation: it comes after the last step instead.
    edited = Scenario.objects.create(organisation=org, code="strategic", name="stratégique")
    Step.objects.create(scenario=edited, position=1, code="a", name="a", offset_days=50, channel="call",
                        template="call_script")
    ScenarioRule.objects.create(organisation=org, position=1, condition="small_amount", scenario=small)
    ScenarioRule.objects.create(organisation=org, position=2, condition="always", scenario=other)
    before_done = steps_of(apps, done.pk)

    apps = migrate(AFTER)

    assert steps_of(apps, standard.pk)[-1] == (4, "escalation-auto", 45, "escalation", "order_for_payment", "formal")
    assert steps_of(apps, public.pk)[-1] == (4, "escalation-auto", 75, "escalation", "collection_agency", "formal")
    assert steps_of(apps, small.pk)[-1] == (3, "escalation-auto", 36, "escalation", "small_claims", "formal")
    assert steps_of(apps, other.pk)[-1] == (3, "escalation-auto", 25, "escalation", "order_for_payment", "formal")
    assert steps_of(apps, edited.pk)[-1] == (2, "escalation-auto", 65, "escalation", "write_off", "formal")
    assert steps_of(apps, late_standard.pk) == [(1, "escalation-auto", 15, "escalation", "order_for_payment",
                                                 "formal")]
    assert steps_of(apps, done.pk) == before_done  # it had its escalation step already

    # Idempotent: run again, nothing more.
    from importlib import import_module

    migration = import_module("relance.dunning.migrations.0008_escalation_for_existing")
    migration.add_escalation_steps(apps, None)
    assert len(steps_of(apps, standard.pk)) == 4 and len(steps_of(apps, late_standard.pk)) == 1

    apps = migrate(BEFORE)
    assert [s[1] for s in steps_of(apps, standard.pk)] == ["s1", "s2", "s3"]
    assert steps_of(apps, late_standard.pk) == [] and steps_of(apps, done.pk) == before_done

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_the_scenario_page_warns_about_a_scenario_without_escalation(client, alice, org):
    from relance.dunning.defaults import install_default_scenarios
    from relance.dunning.models import Scenario, Step

    install_default_scenarios(org)
    standard = Scenario.objects.get(organisation=org, code="standard")
    client.force_login(alice)
    url = f"/o/{org.slug}/scenarios/{standard.pk}/"
    assert "pas d'étape d'escalade" not in client.get(url).content.decode()
    Step.objects.filter(scenario=standard, channel="escalation").delete()
    page = client.get(url)
    assert page.status_code == 200 and "pas d'étape d'escalade" in page.content.decode()
