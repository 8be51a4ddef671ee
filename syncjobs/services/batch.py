"""Running many jobs at once with bounded concurrency (the batch endpoint).

Each product's shop calls run in a thread pool of PRESTASHOP_WRITE_CONCURRENCY; database work stays on
the calling thread. The batch stores every product first and resolves their manufacturers and features once,
up front (`batch_dependencies`), so no product's push waits on a lock or on another product's lookups; the
pool is then kept full as a pipeline: while one product's calls are in flight, the next is prepared and
started.

Jobs for one reference never run together, here or anywhere: a product's reference lock is held from
its start to its finish. A lock is first tried without waiting; if another process holds it, the batch
first finishes everything it has in flight (so it holds no lock while it waits, and two batches can
never deadlock), then waits for it. A reference sent twice in one batch runs after the first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings

from catalog.models import Product
from config.logs import log_context, log_context_get
from connectors.http import RemoteError
from connectors.prestashop.diff import ShopCopy
from syncjobs.locks import lock_acquire, lock_release, lock_try, reference_lock_name
from syncjobs.models import SyncAttempt, SyncJob

from .adapters import product_features
from .runner import JobNotRunnable, Work, job_begin, job_execute, job_prepare, job_record
from .shop_ids import Dependencies, dependencies_resolve

logger = logging.getLogger(__name__)


def batch_dependencies(*, job_ids: list[int]) -> Dependencies | None:
    """The manufacturer and feature value ids of every product of these jobs, resolved once, up front (one
    listing each, then each missing one created once), so the products' pushes can run concurrently with no
    lock. None when the shop fails it: then each job resolves its own (and records the failure)."""
    products = list(
        Product.objects.filter(
            pk__in=SyncJob.objects.filter(pk__in=job_ids).values("product_id"), is_deleted=False
        ).select_related("brand")
    )
    features = {p.pk: product_features(p) for p in products}
    try:
        return dependencies_resolve(products=products, features=features)
    except RemoteError as exc:
        logger.warning("Batch: resolving manufacturers and features failed, each job tries its own: %s", exc)
        return None


def jobs_run_concurrently(
    *,
    jobs: Iterable[tuple[int, str]],
    trigger: str = SyncAttempt.Trigger.REQUEST,
    user=None,
    dependencies: Dependencies | None = None,
    shop_copies: dict[int, ShopCopy | None] | None = None,
) -> dict[int, SyncJob]:
    """Run the jobs, PRESTASHOP_WRITE_CONCURRENCY at a time. `dependencies`: the shop ids resolved for all of
    them beforehand; `shop_copies`: job id → the shop's copy read in bulk (verifying pushes read no more)."""
    concurrency = max(1, settings.PRESTASHOP_WRITE_CONCURRENCY)
    done: dict[int, SyncJob] = {}
    in_flight: dict[Future[Any], tuple[Work, str]] = {}

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
                    work.dependencies = dependencies
                    if shop_copies is not None and job_id in shop_copies:
                        work.copy_read, work.shop_copy = True, shop_copies[job_id]
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
