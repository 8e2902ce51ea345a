"""The scenarios page: timelines, rules, usage; step, scenario and rule edits by the settings role only."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from relance.dunning import scenario_actions as actions
from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import Reminder, Scenario, ScenarioRule, Step
from relance.web.reads.editors import COLUMNS, timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenarios(org, other_org):
    install_default_scenarios(org)
    install_default_scenarios(other_org)
    return {s.code: s for s in Scenario.objects.filter(organisation=org)}


@pytest.fixture
def standard(scenarios):
    return scenarios["standard"]


def _step(scenario, code) -> Step:
    return Step.objects.get(scenario=scenario, code=code)


def _step_post(**over):
    data = {"name": "Relance téléphonique", "offset_days": "8", "anchor": "due", "channel": "call",
            "template": "call_script", "tone": "firm", "min_gap_days": "2"}
    data.update(over)
    return data


# --- timeline -----------------------------------------------------------------------------------


def test_the_timeline_places_each_step_by_its_day_on_the_j_minus_5_to_j_plus_45_scale(standard):
    tl = timeline(list(standard.steps.all()))
    assert (tl.start, tl.end) == (-5, 45)
    columns = {item.step.code: item.column for item in tl.steps}
    # J-5 is the first column, J+45 the last, the others in proportion (99 intervals over 50 days).
    assert columns["pre-due"] == round(2 * 99 / 50) + 1 == 5
    assert columns["first"] == round(10 * 99 / 50) + 1 == 21
    assert columns["formal-notice"] == round(35 * 99 / 50) + 1 == 70
    assert columns["escalation"] == COLUMNS
    assert [item.step.code for item in tl.steps] == ["pre-due", "first", "call", "firm", "sms", "formal-notice",
                                                     "escalation"]
    assert dict(tl.ticks)[0] == 11  # J0, the due date


def test_the_timeline_stretches_for_a_step_beyond_j_plus_45():
    steps = [Step(code="a", position=1, offset_days=-10, channel="email"),
             Step(code="b", position=2, offset_days=90, channel="letter")]
    tl = timeline(steps)
    assert (tl.start, tl.end) == (-10, 90)
    assert [item.column for item in tl.steps] == [1, COLUMNS]


def test_the_page_shows_every_scenario_as_a_timeline_with_its_rules_and_usage(client, alice, scenarios, customer,
                                                                             django_assert_max_num_queries):
    standard = scenarios["standard"]
    customer.scenario = scenarios["strategic"]
    customer.save()
    Reminder.objects.create(organisation_id=customer.organisation_id, customer=customer, channel="email",
                            run_date=date(2026, 7, 8), scenario_code="standard", step_code="first",
                            template="first_reminder")
    client.force_login(alice)
    with time_machine.travel(date(2026, 7, 10)), django_assert_max_num_queries(15):
        response = client.get("/o/abc/scenarios/")
    html = response.content.decode()
    assert response.status_code == 200
    for s in scenarios.values():
        assert s.name in html
    assert html.count('class="timeline"') == len(scenarios)
    assert 'class="tl-dot tl-c21"' in html  # the standard scenario's J+5 e-mail
    assert "Relance structurée" in html and "J+5" in html
    assert "1 client affecté explicitement" in html
    assert "1 client relancé avec ce scénario" in html
    assert "segment de risque (high)" in html  # the rules under the scenario they choose
    assert f'href="/o/abc/scenarios/{standard.pk}/"' in html
    assert 'name="condition"' in html  # the owner may edit the rules


def test_a_viewer_sees_the_timelines_without_any_edit_form(client, victor, scenarios):
    client.force_login(victor)
    html = client.get("/o/abc/scenarios/").content.decode()
    assert "Relance structurée" in html
    assert 'name="condition"' not in html and "Créer la copie" not in html
    detail = client.get(f"/o/abc/scenarios/{scenarios['standard'].pk}/").content.decode()
    assert "Ajouter l'étape" not in detail and "/deplacer/" not in detail and "/retirer/" not in detail
    first = _step(scenarios["standard"], "first")
    step_page = client.get(f"/o/abc/scenarios/{scenarios['standard'].pk}/etapes/{first.pk}/")
    assert step_page.status_code == 200 and "<form" not in step_page.content.decode().split('id="main"')[1]


def test_another_organisations_scenario_is_a_404(client, alice, charlie, scenarios, other_org):
    theirs = Scenario.objects.get(organisation=other_org, code="standard")
    client.force_login(alice)
    assert client.get(f"/o/abc/scenarios/{theirs.pk}/").status_code == 404
    step = theirs.steps.first()
    assert client.post(f"/o/abc/scenarios/{theirs.pk}/etapes/{step.pk}/retirer/").status_code == 404
    client.force_login(charlie)
    mine = scenarios["standard"]
    assert client.get(f"/o/abc/scenarios/{mine.pk}/").status_code == 404
    assert client.get("/o/abc/scenarios/").status_code == 404


# --- edits: owner OK, collector 403, viewer 403, charlie 404 --------------------------------------


def _edits(scenarios):
    standard = scenarios["standard"]
    first = _step(standard, "first")
    return [
        (f"/o/abc/scenarios/{standard.pk}/etapes/", _step_post()),
        (f"/o/abc/scenarios/{standard.pk}/etapes/{first.pk}/", _step_post(name="Relance", channel="email",
                                                                          template="first_reminder", offset_days="6")),
        (f"/o/abc/scenarios/{standard.pk}/etapes/{first.pk}/deplacer/", {"days": "1"}),
        (f"/o/abc/scenarios/{standard.pk}/etapes/{_step(standard, 'sms').pk}/retirer/", {}),
        (f"/o/abc/scenarios/{standard.pk}/", {"name": "B2B classique", "description": "", "active": "on"}),
        (f"/o/abc/scenarios/{standard.pk}/copier/", {"name": "B2B copie"}),
        ("/o/abc/scenarios/", {"condition": ["always"], "value": [""], "scenario": [str(standard.pk)],
                               "position": ["1"]}),
    ]


def _snapshot(org):
    return (sorted(Step.objects.filter(scenario__organisation=org).values_list("scenario_id", "code", "offset_days",
                                                                               "name", "position")),
            sorted(Scenario.objects.filter(organisation=org).values_list("code", "name")),
            sorted(ScenarioRule.objects.filter(organisation=org).values_list("position", "condition", "scenario_id")))


@pytest.mark.parametrize("who, status", [("bob", 403), ("victor", 403), ("charlie", 404)])
def test_only_the_settings_role_may_edit(client, request, scenarios, org, who, status):
    user = request.getfixturevalue(who)
    before = _snapshot(org)
    client.force_login(user)
    for url, data in _edits(scenarios):
        assert client.post(url, data).status_code == status, url
    assert _snapshot(org) == before


def test_the_owner_may_make_every_edit(client, alice, scenarios, org):
    client.force_login(alice)
    for url, data in _edits(scenarios):
        response = client.post(url, data)
        assert response.status_code == 302, (url, response.content.decode()[:2000])
    standard = Scenario.objects.get(organisation=org, code="standard")
    assert standard.name == "B2B classique"
    codes = list(standard.steps.order_by("position").values_list("code", "offset_days"))
    assert ("first", 7) in codes and "sms" not in dict(codes)
    assert ("relance-telephonique", 8) in codes
    assert [d for _c, d in codes] == sorted(d for _c, d in codes)  # positions follow the days
    copy = Scenario.objects.get(organisation=org, name="B2B copie")
    assert copy.code == "b2b-copie" and copy.steps.count() == standard.steps.count()
    assert list(ScenarioRule.objects.filter(organisation=org).values_list("condition", flat=True)) == ["always"]


def test_the_actions_check_the_role_themselves(scenarios, bob, victor):
    standard = scenarios["standard"]
    for user in (bob, victor):
        with pytest.raises(PermissionDenied):
            actions.add_step(standard, user=user, name="X", offset_days=3, channel="email", template="first_reminder")
        with pytest.raises(PermissionDenied):
            actions.remove_step(_step(standard, "first"), user=user)
        with pytest.raises(PermissionDenied):
            actions.set_rules(standard.organisation, [], user=user)


# --- validation -----------------------------------------------------------------------------------


def test_two_steps_on_the_same_day_by_the_same_channel_are_refused_in_french(client, alice, standard):
    client.force_login(alice)
    response = client.post(f"/o/abc/scenarios/{standard.pk}/etapes/",
                           _step_post(channel="email", template="first_reminder", offset_days="5"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "part déjà le même jour (J+5) par le même canal (e-mail)" in html
    assert standard.steps.count() == 7


def test_the_same_day_by_another_channel_is_fine(alice, standard):
    step = actions.add_step(standard, user=alice, name="SMS le jour de la relance", offset_days=5, channel="sms",
                            template="sms_reminder", tone="friendly")
    assert step.offset_days == 5 and step.position == 3


@pytest.mark.parametrize("offset", ["-31", "366"])
def test_a_day_out_of_range_is_refused(client, alice, standard, offset):
    client.force_login(alice)
    response = client.post(f"/o/abc/scenarios/{standard.pk}/etapes/", _step_post(offset_days=offset))
    assert response.status_code == 400
    assert "Assurez-vous que cette valeur est" in response.content.decode()
    with pytest.raises(ValidationError) as caught:
        actions.add_step(standard, user=alice, name="Loin", offset_days=int(offset), channel="email",
                         template="first_reminder")
    assert "le jour doit être compris entre J-30 et J+365" in str(caught.value)


def test_moving_a_step_onto_another_of_the_same_channel_says_so(client, alice, standard):
    first = _step(standard, "first")  # J+5 e-mail; the firm e-mail is at J+14
    Step.objects.filter(pk=first.pk).update(offset_days=13)
    client.force_login(alice)
    response = client.post(f"/o/abc/scenarios/{standard.pk}/etapes/{first.pk}/deplacer/", {"days": "1"}, follow=True)
    assert "part déjà le même jour (J+14)" in response.content.decode()
    assert _step(standard, "first").offset_days == 13


def test_a_registered_e_mail_and_an_empty_name_are_refused(alice, standard):
    with pytest.raises(ValidationError) as caught:
        actions.add_step(standard, user=alice, name=" ", offset_days=2, channel="email", template="first_reminder",
                         registered=True)
    assert caught.value.message_dict == {
        "name": ["donnez un nom à l'étape"], "registered": ["seul un courrier peut partir en recommandé"]}


def test_the_last_step_cannot_be_removed(alice, scenarios):
    small = scenarios["small_amount"]
    actions.remove_step(_step(small, "first"), user=alice)
    actions.remove_step(_step(small, "formal-notice"), user=alice)
    with pytest.raises(ValidationError, match="garde au moins une étape"):
        actions.remove_step(_step(small, "escalation"), user=alice)


def test_rules_after_the_catch_all_and_a_bad_segment_are_refused(client, alice, scenarios, org):
    client.force_login(alice)
    std, high = scenarios["standard"], scenarios["high_risk"]
    before = _snapshot(org)
    response = client.post("/o/abc/scenarios/", {
        "condition": ["always", "segment", "small_amount"], "value": ["", "rouge", "beaucoup"],
        "scenario": [str(std.pk), str(high.pk), str(std.pk)], "position": ["1", "2", "3"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "règle 2 : jamais appliquée, la règle 1 (« sinon ») s&#x27;applique avant" in html
    assert "règle 2 : choisissez le segment de risque" in html
    assert "règle 3 : le seuil « beaucoup » n&#x27;est pas un montant positif" in html
    assert _snapshot(org) == before


def test_rules_are_saved_in_the_order_given(alice, scenarios, org):
    std, high = scenarios["standard"], scenarios["high_risk"]
    actions.set_rules(org, [{"condition": "segment", "value": "high", "scenario": high},
                            {"condition": "small_amount", "value": "200,50", "scenario": scenarios["small_amount"]},
                            {"condition": "always", "value": "ignored", "scenario": std}], user=alice)
    assert list(ScenarioRule.objects.filter(organisation=org).order_by("position")
                .values_list("position", "condition", "value")) == [
        (1, "segment", "high"), (2, "small_amount", "200.50"), (3, "always", "")]


def test_a_rule_cannot_point_at_another_organisations_scenario(alice, org, other_org, scenarios):
    theirs = Scenario.objects.get(organisation=other_org, code="standard")
    with pytest.raises(ValidationError, match="règle 1 : choisissez un scénario"):
        actions.set_rules(org, [{"condition": "always", "value": "", "scenario": theirs}], user=alice)


# --- what was sent stays sent -------------------------------------------------------------------


def test_editing_a_step_keeps_its_code_so_nothing_sent_is_sent_again(client, alice, standard):
    first = _step(standard, "first")
    client.force_login(alice)
    client.post(f"/o/abc/scenarios/{standard.pk}/etapes/{first.pk}/",
                _step_post(name="Tout autre chose", channel="email", template="firm_reminder", offset_days="3"))
    first.refresh_from_db()
    assert (first.code, first.name, first.offset_days, first.template) == ("first", "Tout autre chose", 3,
                                                                           "firm_reminder")


def test_a_new_step_never_reuses_the_code_of_a_removed_step_that_was_sent(alice, standard, customer):
    Reminder.objects.create(organisation_id=customer.organisation_id, customer=customer, channel="sms",
                            run_date=date(2026, 7, 8), scenario_code="standard", step_code="sms",
                            template="sms_reminder")
    actions.remove_step(_step(standard, "sms"), user=alice)
    step = actions.add_step(standard, user=alice, name="SMS", offset_days=19, channel="sms", template="sms_reminder")
    assert step.code == "sms-2"


def test_a_copy_keeps_the_step_codes_and_options(alice, standard):
    copy = actions.copy_scenario(standard, user=alice, name="Standard bis")
    original = list(standard.steps.values_list("code", "offset_days", "options", "needs_approval"))
    assert list(copy.steps.values_list("code", "offset_days", "options", "needs_approval")) == original
    with pytest.raises(ValidationError, match="s'appelle déjà"):
        actions.copy_scenario(standard, user=alice, name="standard BIS")


def test_the_step_options_survive_an_edit_through_the_form(client, alice, standard):
    firm = _step(standard, "firm")  # unless_call_outcome_within_business_days: 2
    client.force_login(alice)
    page = client.get(f"/o/abc/scenarios/{standard.pk}/etapes/{firm.pk}/").content.decode()
    assert 'name="call_window" value="2"' in page
    client.post(f"/o/abc/scenarios/{standard.pk}/etapes/{firm.pk}/",
                _step_post(name="Relance ferme", channel="email", template="firm_reminder", offset_days="15",
                           call_window="3", with_call_task="on"))
    firm.refresh_from_db()
    assert firm.options == {"unless_call_outcome_within_business_days": 3, "with_call_task": True}


def test_the_last_active_scenario_cannot_be_switched_off(alice, org, scenarios):
    for s in scenarios.values():
        if s.code != "standard":
            actions.update_scenario(s, user=alice, name=s.name, active=False)
    with pytest.raises(ValidationError, match="au moins un scénario actif"):
        actions.update_scenario(scenarios["standard"], user=alice, name="B2B", active=False)


def test_a_task_step_keeps_its_own_template_name_through_the_form(client, alice, standard):
    # A task step (as an older scenario's escalation was): its template "escalation" is not a message file.
    escalation = _step(standard, "escalation")
    type(escalation).objects.filter(pk=escalation.pk).update(channel="task", template="escalation")
    client.force_login(alice)
    page = client.get(f"/o/abc/scenarios/{standard.pk}/etapes/{escalation.pk}/").content.decode()
    assert '<option value="escalation" selected>' in page
    response = client.post(f"/o/abc/scenarios/{standard.pk}/etapes/{escalation.pk}/", _step_post(
        name="Escalade", channel="task", template="escalation", tone="formal", offset_days="50"))
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert (escalation.offset_days, escalation.template, escalation.code) == (50, "escalation", "escalation")


def test_the_detail_page_stays_within_a_few_queries(client, alice, standard, django_assert_max_num_queries):
    client.force_login(alice)
    with django_assert_max_num_queries(14):
        response = client.get(f"/o/abc/scenarios/{standard.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="tl-step tl-ch-') == 7 and 'class="table-wrap"' in html
    assert '<label for="id_offset_days">' in html


def test_an_sms_step_needs_an_sms_template_and_the_reverse(alice, standard):
    with pytest.raises(ValidationError) as caught:
        actions.add_step(standard, user=alice, name="SMS", offset_days=9, channel="sms", template="first_reminder")
    assert caught.value.message_dict == {
        "template": ["le modèle « first_reminder » est écrit pour un e-mail, pas pour un SMS"]}
    with pytest.raises(ValidationError, match="est écrit pour un SMS, pas pour un e-mail"):
        actions.add_step(standard, user=alice, name="Mail", offset_days=9, channel="email", template="sms_reminder")


def test_after_edits_the_engine_never_plans_a_step_an_invoice_already_had(alice, org, standard):
    from relance.dunning.rules import next_step
    from relance.dunning.snapshot import get_config

    # An invoice due on 30 June got its J+5 e-mail ("first") on 5 July.
    due, done = date(2026, 6, 30), date(2026, 7, 5)
    actions.edit_step(_step(standard, "first"), user=alice, offset_days=16)  # "first" now comes after the firm e-mail
    actions.remove_step(_step(standard, "call"), user=alice)
    actions.add_step(standard, user=alice, name="Relance", offset_days=3, channel="email", template="first_reminder")
    config = get_config(org)
    spec = config.scenarios["standard"]
    codes = [s.code for s in spec.steps]
    assert codes == ["pre-due", "relance", "firm", "first", "sms", "formal-notice", "escalation"]
    step, _when = next_step(spec, due, due, "first", done, date(2026, 7, 20), config.policy)
    assert step.code == "sms"  # on from where it stood: neither "first" again nor the new J+3 e-mail
