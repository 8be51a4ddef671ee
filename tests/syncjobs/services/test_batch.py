from __future__ import annotations

import pytest

from syncjobs.models import SyncStatus
from syncjobs.services.batch import jobs_run_concurrently

pytestmark = pytest.mark.django_db


def test_many_jobs_reach_the_shop_and_one_reference_twice_runs_in_order(stored, sandbox_shop, settings):
    settings.PRESTASHOP_WRITE_CONCURRENCY = 3
    jobs = [stored(reference=f"BAT{i}", name=f"Batch {i}") for i in range(4)]
    jobs.append(stored(reference="BAT0", operation="update", name="Batch 0 again"))

    done = jobs_run_concurrently(jobs=[(j.pk, j.reference) for j in jobs])

    assert set(done) == {j.pk for j in jobs}
    assert all(j.status == SyncStatus.COMPLETED for j in done.values())
    assert [p["name"][1] for p in sandbox_shop.products() if p["reference"] == "BAT0"] == ["Batch 0 again"]
    assert len([p for p in sandbox_shop.products() if p["reference"].startswith("BAT")]) == 4


def test_a_final_job_is_reported_as_it_is(stored, sandbox_shop):
    job = stored(reference="BATF")
    first = jobs_run_concurrently(jobs=[(job.pk, job.reference)])[job.pk]
    again = jobs_run_concurrently(jobs=[(job.pk, job.reference)])[job.pk]
    assert first.status == again.status == SyncStatus.COMPLETED and again.attempts == 1
