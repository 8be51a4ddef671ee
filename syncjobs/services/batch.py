"""Running many jobs at once with bounded concurrency (the batch endpoint).

Each product's shop calls run in a thread pool of PRESTASHOP_WRITE_CONCURRENCY; database work stays on
the calling thread. Jobs for one reference never run together: the batch takes every reference's lock
(in sorted order) for the products it is running, and a reference sent twice in one batch runs in a
later wave, after the first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from syncjobs.locks import named_locks, reference_lock_name
from syncjobs.models import SyncAttempt, SyncJob

from .runner import JobNotRunnable, Work, _execute, _finish, _prepare, job_begin


def _waves(jobs: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    waves: list[list[tuple[int, str]]] = []
    for job in jobs:
        for wave in waves:
            if all(ref != job[1] for _, ref in wave):
                wave.append(job)
                break
        else:
            waves.append([job])
    return waves


def jobs_run_concurrently(*, job_ids: list[int], trigger: str = SyncAttempt.Trigger.REQUEST, user=None) -> dict[int, SyncJob]:
    references = dict(SyncJob.objects.filter(pk__in=job_ids).values_list("pk", "reference"))
    ordered = [(job_id, references[job_id]) for job_id in job_ids if job_id in references]
    concurrency = max(1, settings.PRESTASHOP_WRITE_CONCURRENCY)
    # Chunks bound memory (image bytes are loaded for the products being pushed, not the whole batch).
    chunk_size = concurrency * 2
    done: dict[int, SyncJob] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="shop-push") as pool:
        for wave in _waves(ordered):
            for start in range(0, len(wave), chunk_size):
                chunk = wave[start : start + chunk_size]
                with named_locks(reference_lock_name(ref) for _, ref in chunk):
                    works: list[Work] = []
                    for job_id, _ in chunk:
                        try:
                            works.append(job_begin(job_id=job_id, trigger=trigger, user=user))
                        except JobNotRunnable:
                            done[job_id] = SyncJob.objects.get(pk=job_id)
                    for work in works:
                        _prepare(work)
                    list(pool.map(_execute, works))
                    for work in works:
                        done[work.job.pk] = _finish(work)
    return done
