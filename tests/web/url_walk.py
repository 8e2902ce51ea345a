"""Every URL pattern of the web app under /o/<slug>/, walked from the URL configuration itself (so a page
added by anyone is covered without being listed), and its path parameters filled from a set of objects.

Used by tests/web/test_isolation.py (one organisation's objects seen by another's owner), the browser
tests and bench/pages_bench.py. A path parameter this module cannot fill fails loudly (UnknownParameter):
teach resolve_parameter() (or MODEL_WORDS, or PK_MODEL_BY_URL_NAME for a bare <pk>) so the new page
gets covered too."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

ORG_PREFIX = "o/<slug:slug>/"
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")

# The models an organisation's pages show, by the words a URL uses for them (in parameter names as
# customer_pk / customer_id / customer, and as the first word of a URL name for a bare <pk>).
MODEL_WORDS = {
    "customer": "customer", "client": "customer",
    "invoice": "invoice", "facture": "invoice",
    "reminder": "reminder", "relance": "reminder",
    "line": "reminder_line",
    "scenario": "scenario", "step": "step", "rule": "scenario_rule",
    "template": "template", "modele": "template",
    "task": "task", "promise": "promise", "dispute": "dispute",
    "plan": "plan", "instalment": "instalment",
    "note": "note", "contact": "contact", "payment": "payment", "allocation": "allocation",
    "creditnote": "credit_note", "credit_note": "credit_note", "credit": "credit_note",
    "import": "import_batch", "imports": "import_batch", "batch": "import_batch",
    "member": "membership", "membership": "membership", "user": "member_user",
    "request": "portal_request", "portal_request": "portal_request", "visit": "portal_visit",
    "run": "dunning_run",
    "proposal": "match_proposal",
    "cost": "recovery_cost",
}
# A bare <pk>/<id> whose URL name does not start with its model's word: name -> model word.
PK_MODEL_BY_URL_NAME: dict[str, str] = {
    # The Today page acts on reminders waiting for a decision (its views look only at those states).
    "today_preview": "pending_reminder", "today_approve": "pending_reminder", "today_skip": "pending_reminder",
    "today_edit": "pending_reminder", "today_letter_pdf": "letter_reminder",
    "today_call_outcome": "task", "today_task_done": "fix_task",
    "task_write_off": "escalation_task", "task_escalation_done": "escalation_task",
    # scenarios/<pk>/etapes/<step_pk>/: the <pk> is the scenario's.
    "step_add": "scenario", "step_edit": "scenario", "step_move": "scenario", "step_remove": "scenario",
}
# Pages that need no login (a link whose token is the proof): anyone holding the link reaches them, so
# the walls are checked with a forged token (404) and under another organisation's slug (404).
PUBLIC_URL_NAMES = {"invitation"}


class UnknownParameter(LookupError):
    pass


@dataclass(frozen=True)
class OrgRoute:
    route: str  # the path after /o/<slug>/, with its <converter:name> parameters
    name: str | None
    regex: bool = False

    @property
    def parameters(self) -> list[str]:
        pattern = _REGEX_PARAM if self.regex else _ROUTE_PARAM
        return [m.group("name") for m in pattern.finditer(self.route)]

    def __str__(self) -> str:
        return f"{self.name or '(unnamed)'} /o/<slug>/{self.route}"


def _walk(patterns, prefix: str, regex: bool):
    for pattern in patterns:
        part = str(pattern.pattern)
        is_regex = regex or isinstance(pattern.pattern, RegexPattern)
        if isinstance(pattern.pattern, RegexPattern):
            part = part.removeprefix("^").removesuffix("$").removesuffix("\\Z")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + part, is_regex)
        elif isinstance(pattern, URLPattern):
            yield prefix + part, pattern.name, is_regex


def organisation_routes() -> list[OrgRoute]:
    """Every URL pattern under /o/<slug>/, in the order Django tries them."""
    routes = []
    for route, name, regex in _walk(get_resolver().url_patterns, "", False):
        if route.startswith(ORG_PREFIX):
            routes.append(OrgRoute(route.removeprefix(ORG_PREFIX), name, regex))
        elif "<slug:slug>" in route or "(?P<slug>" in route:
            raise AssertionError(f"an organisation page outside /o/<slug>/: {route!r}")
    return routes


def _model_of_pk(route: OrgRoute, parameter: str) -> str:
    name = route.name or ""
    if name in PK_MODEL_BY_URL_NAME:
        return PK_MODEL_BY_URL_NAME[name]
    first = re.split(r"[_\-]", name)[0]
    if first.endswith("s") and first[:-1] in MODEL_WORDS:  # "customers_export" as "customer"
        first = first[:-1]
    if first in MODEL_WORDS:
        return MODEL_WORDS[first]
    raise UnknownParameter(f"{route}: <{parameter}> of what? Start the URL name with its model's word "
                           f"({', '.join(sorted(set(MODEL_WORDS)))}) or add the name to PK_MODEL_BY_URL_NAME "
                           f"in tests/web/url_walk.py")


def resolve_parameter(route: OrgRoute, parameter: str, objects: dict) -> tuple[str, bool]:
    """(value, owned): the value for one path parameter from `objects` (model word -> instance, plus
    plain values), and whether it names an object of the organisation (so another one must answer 404)."""
    if parameter in ("pk", "id"):
        word = _model_of_pk(route, parameter)
        return str(objects[word].pk), True
    plain = {
        "language": objects.get("language", "fr"), "lang": objects.get("language", "fr"),
        "channel": objects.get("channel", "email"),
    }
    if parameter in plain:
        return plain[parameter], False
    if parameter == "action":  # customer_action: one of the customer page's buttons
        return objects.get("customer_action", "note"), False
    if parameter == "index":  # reminder_attachment: the reminder's first attachment
        return "0", False
    if parameter == "job_id":  # a real import job (relance.ledger.import_jobs), kept in the data dir
        return objects["import_job"].id, True
    if parameter == "uidb64":
        return objects["invitation_uid"], True
    if parameter == "token":
        if (route.name or "").startswith("invitation"):
            return objects["invitation_token"], True
        # template_preview_html: a preview kept in the session (see preview_token()); a stranger's is unknown
        return objects.get("preview_token") or "no-preview-yet", True
    if parameter in ("date", "day", "run_date"):
        return objects["dunning_run"].run_date.isoformat(), False
    if parameter in ("code", "scenario_code", "step_code", "template_code"):
        kind = parameter.removesuffix("_code") if parameter != "code" else _model_of_pk(route, parameter)
        if kind == "scenario":
            return objects["scenario"].code, True
        if kind == "step":
            return objects["step"].code, True
        if kind == "template":
            return objects["template"].code, False  # a shipped code: every organisation has it
        raise UnknownParameter(f"{route}: <{parameter}> of a {kind}: not known to tests/web/url_walk.py")
    base = re.sub(r"_(pk|id)$", "", parameter)
    if base in MODEL_WORDS:
        return str(objects[MODEL_WORDS[base]].pk), True
    raise UnknownParameter(f"{route}: unknown path parameter <{parameter}>: teach tests/web/url_walk.py "
                           f"(resolve_parameter / MODEL_WORDS) which object fills it, so the page stays covered")


def build_path(route: OrgRoute, slug: str, objects: dict) -> tuple[str, bool]:
    """(the URL, whether it names at least one of the organisation's objects)."""
    owned = False

    def fill(match: re.Match) -> str:
        nonlocal owned
        value, is_owned = resolve_parameter(route, match.group("name"), objects)
        owned = owned or is_owned
        return value

    path = (_REGEX_PARAM if route.regex else _ROUTE_PARAM).sub(fill, route.route)
    if route.regex and re.search(r"[\\^$*+?()\[\]{}|]", path):
        raise UnknownParameter(f"{route}: a regular expression this walker cannot fill: use path()")
    return f"/o/{slug}/{path}", owned


def build_world(org, customer, member, author) -> dict:
    """One object of each kind for `org`, all linked (the invoice is the customer's, the reminder's line
    is that invoice...), so any combination of parameters names objects that belong together.
    `member`: a member of org other than `author` (their membership and user fill <member_pk>/<user_pk>)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from django.contrib.auth.tokens import default_token_generator
    from django.core.files.base import ContentFile
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings
    from django.utils import timezone
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from relance.accounts.actions import invite_member
    from relance.accounts.models import Membership
    from relance.channels.models import MessageTemplate
    from relance.dunning.defaults import install_default_scenarios
    from relance.dunning.models import Dispute as DisputeModel
    from relance.dunning.models import (
        DunningRun,
        Instalment,
        Note,
        PaymentPlan,
        Promise,
        RecoveryCost,
        Reminder,
        ReminderLine,
        ScenarioRule,
        Task,
    )
    from relance.ledger import import_jobs
    from relance.ledger.models import Allocation, Contact, CreditNote, ImportBatch, Invoice, MatchProposal, Payment
    from relance.portal.models import PortalRequest, PortalVisit

    install_default_scenarios(org)
    scenario = org.scenarios.order_by("pk").first()
    step = scenario.steps.order_by("position").first()
    batch = ImportBatch.objects.create(organisation=org, kind="invoices", filename="factures.csv", sha256="0" * 64,
                                       created=2, finished_at=timezone.now())
    due = date(2026, 6, 30)
    invoice = Invoice.objects.create(organisation=org, customer=customer, number="F-ISO-1",
                                     issue_date=due - timedelta(30), due_date=due, total=Decimal("1200.00"),
                                     open_balance=Decimal("1000.00"),
                                     amount_excl_tax=Decimal("1000.00"), tax=Decimal("200.00"), source_import=batch)
    disputed = Invoice.objects.create(organisation=org, customer=customer, number="F-ISO-2", issue_date=due,
                                      due_date=due + timedelta(30), total=Decimal("600.00"),
                                      open_balance=Decimal("600.00"), amount_excl_tax=Decimal("500.00"),
                                      tax=Decimal("100.00"))
    payment = Payment.objects.create(organisation=org, customer=customer, date=due, amount=Decimal("200.00"),
                                     reference="VIR F-ISO-1")
    allocation = Allocation.objects.create(invoice=invoice, source="payment", payment=payment, amount=Decimal("200.00"))
    # A payment matching could not place: its proposal waits in the review queue.
    waiting = Payment.objects.create(organisation=org, date=due, amount=Decimal("42.00"), reference="virement")
    proposal = MatchProposal.objects.create(organisation=org, payment=waiting, rule="none", reason="?")
    credit_note = CreditNote.objects.create(organisation=org, customer=customer, number="AV-ISO-1", date=due,
                                            total=Decimal("50.00"), invoice=invoice)
    # The invoice's document, sent with the reminder: the attachment page finds it by its SHA-256.
    document = b"%PDF-1.4\n% facture F-ISO-1\n%%EOF\n"
    invoice.document.save(f"iso-{org.slug}-F-ISO-1.pdf", ContentFile(document), save=True)
    reminder = Reminder.objects.create(organisation=org, customer=customer, channel="email",
                                       run_date=due + timedelta(5),
                                       scenario_code=scenario.code, step_code=step.code, template=step.template,
                                       state="sent", recipient="compta@dupont.fr", subject="Relance",
                                       body_text="Bonjour", body_html="<p>Bonjour</p>", total_due=Decimal("1000.00"),
                                       sent_at=timezone.now(),
                                       attachments=[{"name": "F-ISO-1.pdf", "mimetype": "application/pdf",
                                                     "size": len(document),
                                                     "sha256": hashlib.sha256(document).hexdigest()}])
    pending = Reminder.objects.create(organisation=org, customer=customer, channel="email",
                                      run_date=due + timedelta(40), scenario_code=scenario.code,
                                      step_code=step.code, template=step.template, state="awaiting_approval",
                                      recipient="compta@dupont.fr", total_due=Decimal("1000.00"))
    ReminderLine.objects.create(reminder=pending, invoice=disputed, step_code=step.code, balance=Decimal("600.00"))
    later = scenario.steps.order_by("position")[1]
    letter = Reminder.objects.create(organisation=org, customer=customer, channel="letter",
                                     run_date=due + timedelta(40), scenario_code=scenario.code,
                                     step_code=later.code, template=later.template, state="planned",
                                     total_due=Decimal("1000.00"))
    ReminderLine.objects.create(reminder=letter, invoice=invoice, step_code=later.code, balance=Decimal("1000.00"))
    line = ReminderLine.objects.create(reminder=reminder, invoice=invoice, step_code=step.code,
                                       balance=Decimal("1000.00"))
    promise = Promise.objects.create(organisation=org, invoice=invoice, promised_date=due + timedelta(20),
                                     amount=Decimal("1000.00"), created_by=author)
    dispute = DisputeModel.objects.create(organisation=org, invoice=disputed, reason="Livraison incomplète",
                                          opened_by=author)
    plan = PaymentPlan.objects.create(organisation=org, customer=customer)
    plan.invoices.add(invoice)
    instalment = Instalment.objects.create(plan=plan, position=1, due_date=due + timedelta(30),
                                           amount=Decimal("1000.00"))
    task = Task.objects.create(organisation=org, customer=customer, kind="call", title="Appeler Dupont",
                               due_date=due + timedelta(12), assignee=author, reminder=reminder)
    task.invoices.add(invoice)
    fix_task = Task.objects.create(organisation=org, customer=customer, kind="fix_contact",
                                   title="Corriger l'adresse de Dupont", due_date=due + timedelta(12))
    note = Note.objects.create(organisation=org, customer=customer, invoice=invoice, author=author,
                               text="Rappeler lundi")
    template = MessageTemplate.objects.create(organisation=org, code=step.template, language="fr",
                                              subject="Relance", body_text="Bonjour,")
    run = DunningRun.objects.create(organisation=org, run_date=due + timedelta(5), state="done", passes=1)
    request = PortalRequest.objects.create(organisation=org, customer=customer, kind="paid", paid_on=due,
                                           amount=Decimal("1000.00"))
    request.invoices.add(invoice)
    visit = PortalVisit.objects.create(organisation=org, customer=customer, reminder=reminder)
    # A real import job, checked (dry run) by the imports page's own code, so it has a reject report.
    with override_settings(RELANCE_IMPORT_BACKGROUND=False):
        upload = SimpleUploadedFile("clients.csv", "code;nom\nC900;Client importé\n;sans code\n".encode(),
                                    content_type="text/csv")
        job = import_jobs.create_job(org, "customers", upload, user=author)
        import_jobs.start(job, dry_run=True, user=author)
    invited, _ = invite_member(org, f"invite-{org.slug}@example.com", "viewer", user=author)
    cost = RecoveryCost(organisation=org, customer=customer, invoice=invoice, date=due, kind="court",
                        amount=Decimal("35.00"), created_by=author)
    cost.document.save(f"iso-{org.slug}-greffe.pdf", ContentFile(document), save=True)
    return {
        "customer": customer, "contact": Contact.objects.filter(customer=customer).first()
        or Contact.objects.create(customer=customer, kind="email", value="compta@dupont.fr"),
        "invoice": invoice, "disputed_invoice": disputed, "payment": payment, "allocation": allocation,
        "credit_note": credit_note, "import_batch": batch, "scenario": scenario, "step": step,
        "scenario_rule": ScenarioRule.objects.filter(organisation=org).first(), "reminder": reminder,
        "reminder_line": line, "promise": promise, "dispute": dispute, "plan": plan, "instalment": instalment,
        "task": task, "note": note, "template": template, "dunning_run": run, "portal_request": request,
        "portal_visit": visit, "membership": Membership.objects.get(organisation=org, user=member),
        "member_user": member, "language": "fr", "channel": "email",
        "pending_reminder": pending, "letter_reminder": letter, "fix_task": fix_task, "import_job": job,
        "escalation_task": Task.objects.create(organisation=org, customer=customer, kind="escalation",
                                               title="Escalade", due_date=fix_task.due_date),
        "invitation_uid": urlsafe_base64_encode(force_bytes(invited.pk)),
        "invitation_token": default_token_generator.make_token(invited), "customer_action": "note",
        "match_proposal": proposal, "recovery_cost": cost,
    }


def preview_token(client, slug: str, world: dict) -> str:
    """Ask the template editor for a live preview as the logged-in `client` (the page's own code keeps
    the rendered HTML in that session) and put its token into `world` for template_preview_html."""
    from django.urls import reverse

    template = world["template"]
    answer = client.post(reverse("template_preview", args=[slug, template.code, template.language]),
                         {"subject": template.subject, "body_text": template.body_text, "body_html": "<p>Bonjour</p>",
                          "customer": world["customer"].external_id})
    found = re.search(r"/modeles/apercu/([\w-]+)/", answer.content.decode())
    assert found, f"no HTML preview link in the editor's preview ({answer.status_code})"
    world["preview_token"] = found.group(1)
    return world["preview_token"]
