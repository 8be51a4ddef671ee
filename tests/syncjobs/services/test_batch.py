from __future__ import annotations

import pytest

from syncjobs.models import SyncStatus
from syncjobs.services.batch import batch_dependencies, jobs_run_concurrently

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


def test_shared_brands_and_features_are_resolved_once_before_any_product_is_pushed(stored, sandbox_shop, settings):
    settings.PRESTASHOP_WRITE_CONCURRENCY = 4
    jobs = [
        stored(
            reference=f"BR{i}",
            brand={"name": f"Shared {i % 3}"},
            technical_data=[
                {"Gruppo": "G", "Descrizione": "Voltage", "Valore": "230", "Suffisso": "V"},
                {"Gruppo": "G", "Descrizione": "Code", "Valore": f"C{i}"},
            ],
        )
        for i in range(9)
    ]
    sandbox_shop.reset_calls()

    dependencies = batch_dependencies(job_ids=[j.pk for j in jobs])
    resolution = list(sandbox_shop.calls)
    done = jobs_run_concurrently(jobs=[(j.pk, j.reference) for j in jobs], dependencies=dependencies)

    assert all(j.status == SyncStatus.COMPLETED for j in done.values())
    posts = [path for method, path in resolution if method == "POST"]
    assert posts.count("/api/manufacturers") == 3 and posts.count("/api/product_features") == 2
    assert posts.count("/api/product_feature_values") == 10  # 9 codes and one shared voltage
    pushes = sandbox_shop.calls[len(resolution) :]
    assert not any(path.split("?")[0] in ("/api/manufacturers", "/api/product_features") for _, path in pushes)
    assert not any(path.startswith("/api/product_feature_values") for _, path in pushes)
    for job in jobs:
        product = sandbox_shop.product_by_reference(job.reference)
        assert len(product["features"]) == 2 and product["manufacturer_name"].startswith("Shared")
