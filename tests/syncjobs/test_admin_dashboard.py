"""The dashboard on the admin index, the full resync button and its progress, the staff groups."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from syncjobs.models import ResyncRun, SyncJob
from tests.factories.backoffice import action_url, make_job

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def test_dashboard_counts_failure_rate_oldest_pending_and_last_resync(viewer_client):
    for status in ("completed", "completed", "completed", "failed", "partial"):
        make_job(status=status)
    pending = make_job(status="pending")
    SyncJob.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=3))
    old = make_job(status="failed")
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    ResyncRun.objects.create(
        status="completed",
        source="schedule",
        total=10,
        chunks_total=1,
        chunks_done=1,
        checked=10,
        changed=2,
        failed=1,
        finished_at=timezone.now(),
    )
    response = viewer_client.get(INDEX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sync-dashboard"' in html
    assert "20.0%" in html  # 1 failed of 5 finished in 24 h
    assert pending.sync_id in html
    assert "checked 10 · changed 2 · failed 1" in html
    assert 'id="start-full-resync"' not in html  # a viewer: no button
    dash = response.context["last_24h"]
    assert {b["status"]: b["count"] for b in dash["bars"]} == {
        "pending": 1,
        "processing": 0,
        "completed": 3,
        "partial": 1,
        "failed": 1,
    }
    assert {b["status"]: b["count"] for b in response.context["last_7d"]["bars"]}["failed"] == 2


def test_dashboard_query_count_does_not_grow_with_jobs(viewer_client, django_assert_max_num_queries):
    make_job()
    with CaptureQueriesContext(connection) as ctx:
        viewer_client.get(INDEX)
    for _ in range(30):
        make_job(status="completed")
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        viewer_client.get(INDEX)


def test_start_full_resync_and_poll_its_progress(operator_client, operator_user, django_capture_on_commit_callbacks):
    with (
        mock.patch("syncjobs.tasks.full_resync_task.apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = operator_client.post(action_url("syncjobs_resyncrun", "start_resync"))
    run = ResyncRun.objects.get()
    assert (run.source, run.requested_by_id, run.dry_run, run.status) == ("admin", operator_user.pk, False, "running")
    apply_async.assert_called_once()
    assert response.status_code == 302 and response["Location"].startswith(f"{INDEX}?resync={run.pk}")
    page = operator_client.get(response["Location"]).content.decode()
    assert f'data-id="{run.pk}"' in page
    ResyncRun.objects.filter(pk=run.pk).update(total=400, chunks_total=2, chunks_done=1, checked=200)
    progress = operator_client.get(reverse("admin:syncjobs_resyncrun_progress", args=[run.pk])).json()
    assert progress["percent"] == 50 and progress["status"] == "running" and progress["checked"] == 200
    # A second click while it runs does not start another.
    with mock.patch("syncjobs.tasks.full_resync_task.apply_async"):
        operator_client.post(action_url("syncjobs_resyncrun", "start_resync"))
    assert ResyncRun.objects.count() == 1


def test_viewers_see_the_dashboard_but_cannot_start_a_resync(viewer_client):
    html = viewer_client.get(INDEX).content.decode()
    assert 'id="sync-dashboard"' in html and 'id="start-full-resync"' not in html
    assert viewer_client.post(action_url("syncjobs_resyncrun", "start_resync")).status_code == 403
    assert not ResyncRun.objects.exists()


def test_resync_list_and_detail(viewer_client):
    run = ResyncRun.objects.create(
        status="running", total=10, chunks_total=4, chunks_done=1, report=[{"reference": "X", "changes": ["price"]}]
    )
    assert viewer_client.get(reverse("admin:syncjobs_resyncrun_changelist")).status_code == 200
    html = viewer_client.get(reverse("admin:syncjobs_resyncrun_change", args=[run.pk])).content.decode()
    assert "25%" in html and "&quot;price&quot;" in html


def test_schedules_are_listed_in_the_admin(viewer_client):
    response = viewer_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 200
    assert "Full resync to PrestaShop" in response.content.decode()


def test_setup_staff_groups_is_idempotent_and_viewers_only_view():
    call_command("setup_staff_groups", verbosity=0)
    call_command("setup_staff_groups", verbosity=0)
    viewers = Group.objects.get(name="Sync viewers")
    codenames = set(viewers.permissions.values_list("codename", flat=True))
    assert {"view_syncjob", "view_syncattempt", "view_product", "view_periodictask"} <= codenames
    assert all(c.startswith("view_") for c in codenames)
    operators = Group.objects.get(name="Sync operators")
    assert operators.permissions.filter(codename="change_syncjob").exists()
    assert Group.objects.filter(name__in=["Sync viewers", "Sync operators"]).count() == 2
