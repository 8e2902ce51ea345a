"""The web side: the customer page's "Download evidence dossier" button (write role), and the escalation
tasks of the Today inbox with their documents and the owner's write-off button."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from relance.channels.delivery import deliver_pending
from relance.dunning.models import Task, TaskKind
from relance.ledger.models import Invoice
from tests.channels.email_support import make_reminder


@pytest.fixture
def viewer(org, django_user_model):
    from relance.accounts.models import Membership

    user = django_user_model.objects.create_user("vera", "vera@abc-consulting.fr", "vera-pw")
    Membership.objects.create(user=user, organisation=org, role="viewer")
    return user


def test_a_collector_downloads_the_dossier_from_the_customer_page(client, org, bob, customer, make_invoice):
    make_invoice(total="1200.00")
    client.force_login(bob)
    page = client.get(f"/o/abc/clients/{customer.pk}/")
    url = f"/o/abc/clients/{customer.pk}/dossier.zip"
    assert url in page.content.decode() and "Télécharger le dossier de preuves" in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="dossier-C001-')
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "summary.pdf" in names and "manifest.json" in names


def test_a_viewer_has_no_dossier_button_nor_dossier(client, org, viewer, customer):
    client.force_login(viewer)
    assert "dossier.zip" not in client.get(f"/o/abc/clients/{customer.pk}/").content.decode()
    assert client.get(f"/o/abc/clients/{customer.pk}/dossier.zip").status_code == 403


def test_another_organisation_s_customer_dossier_is_a_404(client, charlie, customer):
    client.force_login(charlie)
    assert client.get(f"/o/xyz/clients/{customer.pk}/dossier.zip").status_code == 404


@pytest.fixture
def write_off_task(org, alice, customer, make_invoice):
    invoices = [make_invoice(total="90.00", due=date(2026, 6, 30)), make_invoice(total="60.00", due=date(2026, 7, 1))]
    reminder = make_reminder(org, customer, invoices, template="write_off", step="escalation",
                             channel="escalation", run_date=date(2026, 9, 1), tone="formal", approved_by=alice)
    assert deliver_pending(org).sent == 1
    return Task.objects.get(reminder=reminder, kind=TaskKind.ESCALATION), invoices


def test_the_today_inbox_lists_the_escalation_with_its_documents(client, alice, write_off_task):
    task, _invoices = write_off_task
    client.force_login(alice)
    html = client.get("/o/abc/aujourdhui/").content.decode()
    assert task.title in html and "passage-en-perte-C001.pdf" in html
    assert f"/o/abc/relances/{task.reminder_id}/pieces/0/" in html
    assert f"/o/abc/aujourdhui/escalades/{task.pk}/passer-en-perte/" in html
    document = client.get(f"/o/abc/relances/{task.reminder_id}/pieces/0/")
    assert document.status_code == 200 and document.content.startswith(b"%PDF")


def test_only_an_owner_writes_off_in_one_click(client, alice, bob, write_off_task):
    task, invoices = write_off_task
    url = f"/o/abc/aujourdhui/escalades/{task.pk}/passer-en-perte/"
    client.force_login(bob)
    assert f"escalades/{task.pk}/passer-en-perte/" not in client.get("/o/abc/aujourdhui/").content.decode()
    assert client.post(url).status_code == 403
    client.force_login(alice)
    assert client.post(url).status_code == 302
    assert set(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("status", flat=True)) == {
        "written_off"}
    task.refresh_from_db()
    assert task.state == "done"
