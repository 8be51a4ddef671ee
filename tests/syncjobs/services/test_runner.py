from __future__ import annotations

from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from catalog.models import Product
from syncjobs.models import SyncAttempt, SyncJob, SyncStatus
from syncjobs.services import runner
from syncjobs.services.runner import job_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_broker():
    with mock.patch("syncjobs.tasks.sync_job_task.apply_async") as apply_async:
        yield apply_async


def test_a_job_makes_the_shop_match_the_product_once(stored, sandbox_shop):
    job = stored(reference="RUN1", name="Runner")
    job = job_run(job_id=job.pk)
    assert (job.status, job.outcome, job.attempts) == ("completed", "created", 1)
    assert job.attempt_rows.get().outcome == SyncAttempt.Outcome.SUCCEEDED
    product = sandbox_shop.product_by_reference("RUN1")
    assert product["name"][1] == "Runner"
    assert Product.objects.get(reference="RUN1").presta_id == job.presta_id == int(product["id"])

    again = job_run(job_id=job.pk)  # a duplicate message: the final job is not run again
    assert again.attempts == 1


def test_a_later_job_of_an_unchanged_product_writes_nothing(stored, sandbox_shop):
    job_run(job_id=stored(reference="RUN2").pk)
    second = stored(reference="RUN2", operation="update")
    sandbox_shop.reset_calls()
    second = job_run(job_id=second.pk)
    assert (second.status, second.outcome) == ("completed", "unchanged")
    assert all(method in ("GET", "HEAD") for method, _ in sandbox_shop.calls)


def test_shop_unavailable_is_retried_later(stored, sandbox_shop, no_broker, django_capture_on_commit_callbacks):
    sandbox_shop.down = True
    with django_capture_on_commit_callbacks(execute=True):
        job = job_run(job_id=stored(reference="RUN3").pk)
    assert job.status == SyncStatus.FAILED and job.next_retry_at is not None and job.completed_at is None
    assert no_broker.call_args.args == ((job.pk,),) and no_broker.call_args.kwargs["countdown"] >= 1
    assert SyncJob.objects.get(pk=job.pk).dispatched_at is not None


def test_a_request_the_shop_refuses_fails_at_once(stored, sandbox_shop, no_broker, django_capture_on_commit_callbacks):
    sandbox_shop.fail_next(
        50,
        status=400,
        body="<prestashop><errors><error><code><![CDATA[1]]></code>"
        "<message><![CDATA[refused]]></message></error></errors></prestashop>",
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = job_run(job_id=stored(reference="RUN4").pk)
    assert job.status == SyncStatus.FAILED and job.next_retry_at is None and job.completed_at is not None
    assert no_broker.call_count == 0


def test_a_failed_attempt_counts_the_calls_it_made(stored, sandbox_shop, no_broker, django_capture_on_commit_callbacks):
    job_run(job_id=stored(reference="RUN6").pk)
    update = stored(reference="RUN6", operation="update", price=17.5, quantity=3)
    sandbox_shop.reset_calls()
    sandbox_shop.fail_next(50, status=503)  # every call of this attempt fails (after the client's own retries)
    with django_capture_on_commit_callbacks(execute=True):
        update = job_run(job_id=update.pk)
    attempt = update.attempt_rows.get()
    assert update.status == SyncStatus.FAILED and attempt.outcome == SyncAttempt.Outcome.FAILED
    assert attempt.calls == len(sandbox_shop.calls) > 1  # what staff read in "Calls" is what reached the shop


def test_a_bug_fails_the_job_at_once_with_its_traceback(stored, sandbox_shop, no_broker, caplog):
    with mock.patch.object(runner, "product_spec", side_effect=KeyError("Gruppo")):
        job = job_run(job_id=stored(reference="RUN5").pk)
    assert job.status == SyncStatus.FAILED and job.next_retry_at is None and job.attempts == 1
    assert job.error == "Internal error: KeyError: 'Gruppo'"
    attempt = job.attempt_rows.get()
    assert "KeyError: 'Gruppo'" in attempt.remote["traceback"] and "Traceback" in attempt.remote["traceback"]
    assert "Sync job" in caplog.text and "KeyError" in caplog.text
    assert no_broker.call_count == 0


def test_a_soft_time_limit_closes_the_attempt_queues_a_retry_and_stops(
    stored, sandbox_shop, no_broker, django_capture_on_commit_callbacks
):
    job = stored(reference="RUN6")
    with (
        mock.patch("connectors.prestashop.sync.ShopSync.push_product", side_effect=SoftTimeLimitExceeded()),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(SoftTimeLimitExceeded),
    ):
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == SyncStatus.FAILED and job.next_retry_at is not None
    assert "time limit" in job.error
    assert job.attempt_rows.get().outcome == SyncAttempt.Outcome.FAILED
    assert no_broker.call_count == 1


def test_a_deleted_product_is_removed_from_the_shop(stored, sandbox_shop):
    from syncjobs.services.intake import job_intake_delete

    job_run(job_id=stored(reference="RUN7").pk)
    job = job_run(job_id=job_intake_delete(reference="RUN7", source="api").pk)
    assert (job.status, job.outcome) == ("completed", "deleted")
    assert sandbox_shop.product_by_reference("RUN7") is None
    assert Product.objects.get(reference="RUN7").presta_id is None
