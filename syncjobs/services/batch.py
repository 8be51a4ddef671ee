"""Running many jobs at once with bounded concurrency (the batch endpoint).

Each product's shop calls run in a thread pool of PRESTASHOP_WRITE_CONCURRENCY; database work stays on
the calling thread. Jobs (id, reference) arrive from an iterable (the batch stores each product just before it yields
its job), and the pool is kept full as a pipeline: while one product's calls are in flight, the next is
stored, prepared and started.

Jobs for one reference never run together, here or anywhere: a product's reference lock is held from
its start to its finish. A lock is first tried without waiting; if another process holds it, the batch
first finishes everything it has in flight (so it holds no lock while it waits, and two batches can
never deadlock), then waits for it. A reference sent twice in one batch runs after the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings

from config.logs import log_context, log_context_get
from syncjobs.locks import lock_acquire, lock_release, lock_try, reference_lock_name
from syncjobs.models import SyncAttempt, SyncJob

from .runner import JobNotRunnable, Work, job_begin, job_execute, job_prepare, job_record


def jobs_run_concurrently(
    *, jobs: Iterable[tuple[int, str]], trigger: str = SyncAttempt.Trigger.REQUEST, user=None
) -> dict[int, SyncJob]:
    concurrency = max(1, settings.PRESTASHOP_WRITE_CONCURRENCY)
    done: dict[int, SyncJob] = {}
    in_flight: dict[Future, tuple[Work, str]] = {}

    def settle(futures) -> None:
        for future in futures:
            work, lock = in_flight.pop(future)
            try:
                done[work.job.pk] = job_record(work)
            finally:
                lock_release(lock)

    def settle_all() -> None:
        settle(wait(list(in_flight)).done)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="shop-push") as pool:
        try:
            for job_id, reference in jobs:
                lock = reference_lock_name(reference)
                same = [f for f, (_, held) in in_flight.items() if held == lock]
                if same:  # the same reference earlier in this batch: it finishes first
                    settle(wait(same).done)
                while len(in_flight) >= concurrency:
                    settle(wait(list(in_flight), return_when=FIRST_COMPLETED)[0])
                if not lock_try(lock):
                    settle_all()
                    lock_acquire(lock)
                try:
                    work = job_begin(job_id=job_id, trigger=trigger, user=user)
                    job_prepare(work)
                except JobNotRunnable:
                    lock_release(lock)
                    done[job_id] = SyncJob.objects.get(pk=job_id)
                    continue
                except BaseException:
                    lock_release(lock)
                    raise
                in_flight[pool.submit(_execute_logged, work, log_context_get())] = (work, lock)
            settle_all()
        finally:
            for future, (_, lock) in list(in_flight.items()):
                future.cancel()
                lock_release(lock)
    return done


def _execute_logged(work: Work, context: dict[str, str]) -> None:
    """`job_execute` in a pool thread, its log lines tagged with the request and the job."""
    with log_context(**{**context, "sync_id": work.job.sync_id, "reference": work.job.reference}):
        job_execute(work)
