"""Imports: upload a CSV/XLSX file of customers, invoices or payments, check how its columns map
(first rows, dry run with every problem by line), then import it with a progress bar. A FEC, a bank
statement or an e-invoice is uploaded as one more choice, its format found from the content: a dry run,
then the import, with no columns to map. The runs go through relance.ledger.import_jobs (a background
thread, progress in the data dir); past imports are the ImportBatch rows."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import path
from django.utils.translation import pgettext, pgettext_lazy

from relance.accounts.permissions import WRITE
from relance.ledger import import_jobs, import_whole
from relance.ledger.importers import ImportUsageError
from relance.ledger.models import ImportBatch
from relance.web.orgs import org_view

KIND_CHOICES = [
    ("invoices", pgettext_lazy("imports", "Invoices")),
    ("customers", pgettext_lazy("imports", "Customers")),
    ("payments", pgettext_lazy("imports", "Payments")),
    ("credit-notes", pgettext_lazy("imports", "Credit notes")),
    (import_jobs.AUTO, pgettext_lazy("imports", "Ledger export (FEC), bank statement or e-invoice: recognised "
                                                "from the file")),
]
# The kinds of the jobs and of ImportBatch rows besides the table ones.
KIND_LABELS = dict(KIND_CHOICES) | {
    "fec": pgettext_lazy("imports", "Ledger export (FEC)"),
    "statement": pgettext_lazy("imports", "Bank statement"),
    "einvoices": pgettext_lazy("imports", "E-invoices"),
    "facturx": pgettext_lazy("imports", "E-invoice (Factur-X PDF)"),
    "cii": pgettext_lazy("imports", "E-invoice (CII XML)"),
    "ubl": pgettext_lazy("imports", "E-invoice (UBL XML)"),
    "documents": pgettext_lazy("imports", "Invoice documents"),
}
ACCEPT = ",".join(sorted(import_jobs.SUFFIXES | {s for s in import_whole.SUFFIXES if s}))
# Room for the multipart envelope and the other fields around the file itself.
ENVELOPE = 64 * 1024


def max_bytes() -> int:
    return int(settings.RELANCE_IMPORT_MAX_BYTES)


def too_big_message(size: int) -> str:
    text = pgettext("imports", "The file is too big (%(size)s); the limit is %(limit)s. Split it into several files.")
    return text % {
        "size": filesizeformat(size), "limit": filesizeformat(max_bytes())}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=pgettext_lazy("imports", "What the file holds"), choices=KIND_CHOICES)
    file = forms.FileField(label=pgettext_lazy("imports", "File"),
                           widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > max_bytes():
            raise forms.ValidationError(too_big_message(uploaded.size))
        return uploaded


def _batches(request):
    batches = (ImportBatch.objects.filter(organisation=request.org)
               .only("pk", "kind", "filename", "created", "updated", "unchanged", "started_at", "finished_at")
               .order_by("-started_at", "-pk"))
    page = Paginator(batches, 20).get_page(request.GET.get("page"))
    for batch in page:
        batch.kind_label = KIND_LABELS.get(batch.kind, batch.kind)
    return page


@org_view(post_perm=WRITE)
def imports(request):
    form, too_big, status = UploadForm(), "", 200
    if request.method == "POST":
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > max_bytes() + ENVELOPE:
            too_big, status = too_big_message(length), 413
        else:
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    job = import_jobs.create_job(request.org, form.cleaned_data["kind"], form.cleaned_data["file"],
                                                 user=request.user)
                    import_jobs.start(job, dry_run=True, user=request.user)
                except ImportUsageError as exc:
                    form.add_error("file", str(exc))
                else:
                    return redirect("import_job", request.org.slug, job.id)
            status = 400
    context = {"form": form, "too_big": too_big, "batches": _batches(request), "max_bytes": max_bytes()}
    return render(request, "web/imports/index.html", context, status=status)


def _job_or_404(request, job_id):
    job = import_jobs.load_job(request.org, job_id)
    if job is None:
        raise Http404
    return job


def _status_context(request, job):
    result = job.result or {}
    return {"job": job, "result": result, "kind_label": KIND_LABELS.get(job.kind, job.kind),
            "more_errors": max(0, result.get("error_count", 0) - len(result.get("errors", [])))}


@org_view(post_perm=WRITE)
def import_job(request, job_id):
    job = _job_or_404(request, job_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "check":
                mapping = {}
                for column in getattr(import_jobs.preview(job), "columns", []):
                    chosen = request.POST.get(f"map-{column['index']}", "")
                    if chosen and column["header"]:
                        mapping[column["header"]] = chosen
                import_jobs.start(job, dry_run=True, mapping=mapping, user=request.user)
            elif action == "import":
                if not (job.result and job.result.get("dry_run") and job.result.get("ok")):
                    raise ImportUsageError(
                        pgettext("imports", "Check the file first: the import starts after a clean dry run."))
                import_jobs.start(job, dry_run=False, user=request.user)
            else:
                raise ImportUsageError(pgettext("imports", "Unknown action."))
        except ImportUsageError as exc:
            messages.error(request, str(exc))
        return redirect("import_job", request.org.slug, job.id)
    preview = import_jobs.preview(job)
    context = _status_context(request, job) | {"preview": preview}
    return render(request, "web/imports/job.html", context)


@org_view()
def import_progress(request, job_id):
    job = _job_or_404(request, job_id)
    return render(request, "web/imports/_status.html", _status_context(request, job))


@org_view()
def import_rejects(request, job_id):
    job = _job_or_404(request, job_id)
    report = import_jobs.rejects_path(job)
    if not report.is_file():
        raise Http404
    return FileResponse(report.open("rb"), as_attachment=True, filename=f"rejets-{job.filename}.csv",
                        content_type="text/csv; charset=utf-8")


urlpatterns = [
    path("imports/", imports, name="imports"),
    path("imports/<str:job_id>/", import_job, name="import_job"),
    path("imports/<str:job_id>/progression/", import_progress, name="import_progress"),
    path("imports/<str:job_id>/rejets.csv", import_rejects, name="import_rejects"),
]
