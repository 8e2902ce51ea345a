"""Scenarios: each scenario as a timeline (J-5 … J+45), its rules and usage; the settings role edits
steps, names, copies and rules through relance.dunning.scenario_actions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from relance.accounts.permissions import SETTINGS
from relance.dunning import scenario_actions as actions
from relance.dunning.models import Anchor, Channel, ScenarioRule, Step, Tone
from relance.ledger.models import RiskSegment
from relance.web.orgs import org_view
from relance.web.reads import editors


class StepForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("editor", "Name"), max_length=200)
    offset_days = forms.IntegerField(
        label=gettext_lazy("Day (relative to the date)"), min_value=actions.OFFSET_MIN, max_value=actions.OFFSET_MAX,
        help_text=gettext_lazy("-3 = three days before, 0 = on the day, 10 = ten days after"))
    anchor = forms.ChoiceField(label=pgettext_lazy("editor", "Date of reference"), choices=Anchor.choices,
                               initial=Anchor.DUE)
    channel = forms.ChoiceField(label=pgettext_lazy("editor", "Channel"), choices=Channel.choices)
    template = forms.ChoiceField(label=pgettext_lazy("editor", "Message template"), required=False)
    tone = forms.ChoiceField(label=pgettext_lazy("editor", "Tone"), choices=Tone.choices, initial=Tone.FRIENDLY)
    min_gap_days = forms.IntegerField(
        label=gettext_lazy("Minimum days after the previous step"), min_value=0, max_value=actions.GAP_MAX,
        initial=5)
    needs_approval = forms.BooleanField(label=gettext_lazy("Needs approval before sending"), required=False)
    registered = forms.BooleanField(label=pgettext_lazy("editor", "Registered letter"), required=False)
    call_window = forms.IntegerField(
        label=gettext_lazy("Skip when a call outcome was logged within (business days)"), required=False,
        min_value=1, max_value=actions.CALL_WINDOW_MAX)
    with_call_task = forms.BooleanField(label=gettext_lazy("Also give the collector a call task"), required=False)

    def __init__(self, *args, options: dict | None = None, scenario=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The shipped templates, and those the scenario's steps already name (a task's "escalation").
        codes = set(editors.known_template_codes())
        if scenario is not None:
            codes |= {c for c in scenario.steps.values_list("template", flat=True) if c}
        self.fields["template"].choices = [("", _("(none: a task)"))] + [(c, c) for c in sorted(codes)]
        self.extra_options = {k: v for k, v in (options or {}).items()
                              if k not in ("unless_call_outcome_within_business_days", "with_call_task")}

    @classmethod
    def for_step(cls, step: Step) -> StepForm:
        options = step.options or {}
        initial = {f: getattr(step, f) for f in ("name", "offset_days", "anchor", "channel", "template", "tone",
                                                  "min_gap_days", "needs_approval", "registered")}
        initial["call_window"] = options.get("unless_call_outcome_within_business_days")
        initial["with_call_task"] = bool(options.get("with_call_task"))
        return cls(initial=initial, options=options, scenario=step.scenario)

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        options = dict(self.extra_options)
        window, call_task = data.pop("call_window"), data.pop("with_call_task")
        if window is not None:
            options["unless_call_outcome_within_business_days"] = window
        if call_task:
            options["with_call_task"] = True
        data["options"] = options
        return data


class ScenarioForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("editor", "Name"), max_length=200)
    description = forms.CharField(label=pgettext_lazy("editor", "Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(label=pgettext_lazy("editor", "Active"), required=False)


class CopyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the copy"), max_length=200)


def _errors_into(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else ("call_window" if name == "options" else None), errors)
    else:
        form.add_error(None, error.messages)


def _scenario_or_404(request, pk: int):
    scenario = editors.get_scenario(request.org, pk)
    if scenario is None:
        raise Http404
    return scenario


def _step_or_404(scenario, step_pk: int) -> Step:
    step = Step.objects.filter(scenario=scenario, pk=step_pk).first()
    if step is None:
        raise Http404
    return step


# --- pages ------------------------------------------------------------------------------------


@org_view(post_perm=SETTINGS)
def scenarios(request):
    rule_errors: list[str] = []
    if request.method == "POST":
        rows = _posted_rules(request)
        try:
            actions.set_rules(request.org, rows, user=request.user)
        except ValidationError as exc:
            rule_errors = exc.messages
        else:
            messages.success(request, _("Scenario rules saved."))
            return redirect("scenarios", request.org.slug)
    return _render_list(request, rule_errors, status=400 if rule_errors else 200)


def _render_list(request, rule_errors=(), copy_errors=None, status=200):
    rules = editors.list_rules(request.org)
    all_scenarios = editors.list_scenarios(request.org, rules)
    for s in all_scenarios:
        s.copy_errors = (copy_errors or {}).get(s.pk, [])
    return render(request, "web/scenarios/list.html", {
        "scenarios": all_scenarios, "rules": rules, "rule_errors": rule_errors,
        "conditions": ScenarioRule.Condition.choices, "segments": RiskSegment.choices,
        "blank_rules": range(len(rules) + 1, len(rules) + 3), "usage_days": editors.USAGE_DAYS,
    }, status=status)


def _posted_rules(request) -> list[dict]:
    """The rule rows as posted (condition, value, scenario, position); rows without a condition are dropped."""
    by_pk = {s.pk: s for s in request.org.scenarios.all()}
    rows = []
    post = request.POST
    for n, (condition, value, scenario, position) in enumerate(zip(
            post.getlist("condition"), post.getlist("value"), post.getlist("scenario"), post.getlist("position"),
            strict=False)):
        if not condition:
            continue
        try:
            order = int(position)
        except ValueError:
            order = 1000 + n
        rows.append((order, n, {"condition": condition, "value": value,
                                "scenario": by_pk.get(int(scenario)) if scenario.isdigit() else None}))
    return [row for _order, _n, row in sorted(rows, key=lambda r: (r[0], r[1]))]


@org_view(post_perm=SETTINGS)
def scenario(request, pk: int):
    obj = _scenario_or_404(request, pk)
    form = ScenarioForm(initial={"name": obj.name, "description": obj.description, "active": obj.active})
    status = 200
    if request.method == "POST":
        form = ScenarioForm(request.POST)
        if form.is_valid():
            try:
                actions.update_scenario(obj, user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("Scenario saved."))
                return redirect("scenario", request.org.slug, obj.pk)
        status = 400
    return _render_detail(request, obj, scenario_form=form, status=status)


def _render_detail(request, obj, *, scenario_form=None, step_form=None, status=200):
    steps = list(obj.steps.order_by("position"))
    return render(request, "web/scenarios/detail.html", {
        "scenario": obj, "timeline": editors.timeline(steps), "steps": steps,
        "has_escalation": any(s.channel == Channel.ESCALATION for s in steps),
        "scenario_form": scenario_form or ScenarioForm(
            initial={"name": obj.name, "description": obj.description, "active": obj.active}),
        "step_form": step_form or StepForm(scenario=obj), "copy_form": CopyForm(),
    }, status=status)


@org_view(SETTINGS)
@require_POST
def scenario_copy(request, pk: int):
    obj = _scenario_or_404(request, pk)
    form = CopyForm(request.POST)
    if form.is_valid():
        try:
            copy = actions.copy_scenario(obj, user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Scenario copied: edit the copy's steps below."))
            return redirect("scenario", request.org.slug, copy.pk)
    return _render_list(request, copy_errors={obj.pk: [e for errs in form.errors.values() for e in errs]},
                        status=400)


@org_view(SETTINGS)
@require_POST
def step_add(request, pk: int):
    obj = _scenario_or_404(request, pk)
    form = StepForm(request.POST, scenario=obj)
    if form.is_valid():
        try:
            actions.add_step(obj, user=request.user, **form.values())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Step added."))
            return redirect("scenario", request.org.slug, obj.pk)
    return _render_detail(request, obj, step_form=form, status=400)


@org_view(post_perm=SETTINGS)
def step_edit(request, pk: int, step_pk: int):
    obj = _scenario_or_404(request, pk)
    step = _step_or_404(obj, step_pk)
    form = StepForm.for_step(step)
    status = 200
    if request.method == "POST":
        form = StepForm(request.POST, options=step.options, scenario=obj)
        if form.is_valid():
            try:
                actions.edit_step(step, user=request.user, **form.values())
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("Step saved."))
                return redirect("scenario", request.org.slug, obj.pk)
        status = 400
    return render(request, "web/scenarios/step.html", {"scenario": obj, "step": step, "form": form}, status=status)


@org_view(SETTINGS)
@require_POST
def step_move(request, pk: int, step_pk: int):
    obj = _scenario_or_404(request, pk)
    step = _step_or_404(obj, step_pk)
    try:
        days = int(request.POST.get("days", "0"))
    except ValueError:
        days = 0
    try:
        actions.move_step(step, days, user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    return redirect("scenario", request.org.slug, obj.pk)


@org_view(SETTINGS)
@require_POST
def step_remove(request, pk: int, step_pk: int):
    obj = _scenario_or_404(request, pk)
    step = _step_or_404(obj, step_pk)
    try:
        actions.remove_step(step, user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, _("Step removed."))
    return redirect("scenario", request.org.slug, obj.pk)


urlpatterns = [
    path("scenarios/", scenarios, name="scenarios"),
    path("scenarios/<int:pk>/", scenario, name="scenario"),
    path("scenarios/<int:pk>/copier/", scenario_copy, name="scenario_copy"),
    path("scenarios/<int:pk>/etapes/", step_add, name="step_add"),
    path("scenarios/<int:pk>/etapes/<int:step_pk>/", step_edit, name="step_edit"),
    path("scenarios/<int:pk>/etapes/<int:step_pk>/deplacer/", step_move, name="step_move"),
    path("scenarios/<int:pk>/etapes/<int:step_pk>/retirer/", step_remove, name="step_remove"),
]
