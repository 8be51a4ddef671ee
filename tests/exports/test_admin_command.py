"""The management command, the admin (list, read-only detail, actions) and the default beat schedule."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from exports.models import ProductsupBatch
from exports.schedules import FULL_EXPORT_NAME
from tests.factories.exports import make_product

pytestmark = pytest.mark.django_db


def test_command_full(productsup, capsys):
    make_product("A")
    make_product("B")
    call_command("productsup_export", "--full")
    out = capsys.readouterr().out
    assert "full batch" in out and "committed" in out
    assert set(productsup.site_rows()) == {"A", "B"}
    assert ProductsupBatch.objects.get().triggered_by == "command"


def test_command_delta_and_process(productsup, capsys):
    call_command("productsup_export")
    assert "Nothing to send" in capsys.readouterr().out
    make_product("A", dirty=True)
    call_command("productsup_export", "--process")
    out = capsys.readouterr().out
    batch = ProductsupBatch.objects.get()
    assert batch.kind == "delta" and batch.process_id in out
    assert productsup.processes[batch.process_id]["batch_id"] == batch.batch_id


def test_command_fails_loudly(productsup, settings):
    settings.PRODUCTSUP_CLIENT_SECRET = "wrong"
    make_product("A", dirty=True)
    with pytest.raises(CommandError, match="did not commit"):
        call_command("productsup_export")


def test_default_schedule_exists():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=FULL_EXPORT_NAME)
    assert task.task == "exports.tasks.productsup_full_export_task" and task.crontab is not None


@pytest.fixture
def staff(client, django_user_model, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("setup_staff_groups", verbosity=0)
    user = django_user_model.objects.create_user("operator", "a@example.com", "pw-admin-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Sync operators"))
    client.force_login(user)
    return client


def test_admin_list_and_read_only_detail(productsup, staff, django_assert_max_num_queries):
    make_product("A", dirty=True)
    from exports.services import productsup_export

    batch = productsup_export(full=False, triggered_by="change")
    for _ in range(3):
        ProductsupBatch.objects.create(batch_id=f"{_:032d}", kind="delta", transport="platform", status="failed")
    with django_assert_max_num_queries(12):
        response = staff.get(reverse("admin:exports_productsupbatch_changelist") + "?status__exact=committed")
    assert response.status_code == 200 and batch.batch_id in response.content.decode()
    assert "Start full export" in response.content.decode()
    detail = staff.get(reverse("admin:exports_productsupbatch_change", args=[batch.pk]))
    assert detail.status_code == 200
    assert b'name="status"' not in detail.content  # read-only


def test_admin_actions(productsup, staff, monkeypatch, django_capture_on_commit_callbacks):
    from connectors.productsup.client import new_batch_id
    from exports import tasks
    from exports.services import platform_client

    queued = []
    monkeypatch.setattr(tasks.productsup_full_export_task, "delay", lambda **kw: queued.append(("full", kw)))
    monkeypatch.setattr(tasks.productsup_batch_retry_task, "delay", lambda pk: queued.append(("retry", pk)))
    url = reverse("admin:exports_productsupbatch_changelist")

    failed_id = new_batch_id()
    platform_client().upload(failed_id, [{"id": "X"}])
    failed = ProductsupBatch.objects.create(batch_id=failed_id, kind="delta", transport="platform", status="failed")

    response = staff.post(url, {"action": "discard_batches", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "discarded" and productsup.batch(failed_id)["status"] == "discarded"

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(url, {"action": "retry_batches", "_selected_action": [failed.pk]})
    assert queued == [("retry", failed.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("admin:exports_productsupbatch_actions", kwargs={"tool": "start_full_export"}))
    assert queued[-1] == ("full", {"triggered_by": "admin"})

    make_product("A", dirty=True)
    from exports.services import productsup_export

    batch = productsup_export(full=False, triggered_by="change")
    staff.post(url, {"action": "trigger_process", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.process_id and batch.process_status == "queued"
    staff.post(url, {"action": "refresh_process", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.process_status == "success"
    # A second trigger within 5 minutes is rate limited (429): reported, nothing breaks.
    response = staff.post(url, {"action": "trigger_process", "_selected_action": [batch.pk]}, follow=True)
    assert "Productsup refused" in response.content.decode()


def test_retry_task_sends_a_new_batch(productsup):
    from exports.tasks import productsup_batch_retry_task

    make_product("A", dirty=True)
    failed = ProductsupBatch.objects.create(batch_id="f" * 32, kind="delta", transport="platform", status="failed")
    new = ProductsupBatch.objects.get(pk=productsup_batch_retry_task.apply(args=[failed.pk]).get())
    assert new.retry_of_id == failed.pk and new.status == "committed" and new.triggered_by == "admin"
    assert set(productsup.site_rows()) == {"A"}
