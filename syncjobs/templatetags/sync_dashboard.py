"""The back-office dashboard shown on the admin index: how syncing went lately and what needs attention.

A handful of aggregate queries whatever the size of the tables (no per-row work).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import template
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from config.admin.display import admin_url, status_badge, tone
from config.admin.permissions import can_operate
from exports.models import ProductsupBatch
from syncjobs.admin import resync_progress
from syncjobs.models import ResyncRun, SyncJob, SyncStatus

register = template.Library()

STATUSES = [SyncStatus.PENDING, SyncStatus.PROCESSING, SyncStatus.COMPLETED, SyncStatus.PARTIAL, SyncStatus.FAILED]
FINISHED = (SyncStatus.COMPLETED, SyncStatus.PARTIAL, SyncStatus.FAILED)


def _counts(since) -> dict:
    aggregates = {status: Count("pk", filter=Q(status=status)) for status in STATUSES}
    row = SyncJob.objects.filter(created_at__gte=since).aggregate(total=Count("pk"), **aggregates)
    total = row.pop("total") or 0
    finished = sum(row[s] for s in FINISHED)
    biggest = max(row.values()) if row else 0
    return {
        "total": total,
        "bars": [
            {
                "status": status.value,
                "label": status.label,
                "count": row[status],
                "width": round(100 * row[status] / biggest) if biggest else 0,
                "tone": tone(status),
                "url": _jobs_url(status=status.value, since=since),
            }
            for status in STATUSES
        ],
        "failure_rate": round(100 * row[SyncStatus.FAILED] / finished, 1) if finished else None,
    }


def _per_day(days: int = 7) -> list[dict]:
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        SyncJob.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    table: dict = {first + timedelta(days=i): dict.fromkeys(STATUSES, 0) for i in range(days)}
    for row in rows:
        if row["day"] in table and row["status"] in table[row["day"]]:
            table[row["day"]][row["status"]] = row["n"]
    biggest = max((sum(v.values()) for v in table.values()), default=0) or 1
    return [
        {
            "day": day,
            "total": sum(counts.values()),
            "segments": [
                {
                    "status": s.value,
                    "count": counts[s],
                    "height": round(100 * counts[s] / biggest, 1),
                    "tone": tone(s),
                }
                for s in reversed(STATUSES)
                if counts[s]
            ],
        }
        for day, counts in table.items()
    ]


def _jobs_url(**params) -> str:
    query = {}
    if params.get("status"):
        query["status__exact"] = params["status"]
    if params.get("since"):
        query["created_at__gte"] = timezone.localtime(params["since"]).isoformat(sep=" ", timespec="seconds")
    url = reverse("admin:syncjobs_syncjob_changelist")
    return url + ("?" + urlencode(query) if query else "")


def _productsup() -> dict:
    fields = ("pk", "batch_id", "kind", "status", "rows", "started_at", "finished_at", "error")
    batches = ProductsupBatch.objects.only(*fields).order_by("-started_at", "-id")
    entries = [
        {
            "label": label,
            "batch": batch,
            "badge": status_badge(batch.status, batch.get_status_display()),
            "url": admin_url("admin:exports_productsupbatch_change", batch.pk),
        }
        for label, batch in (
            ("Last export", batches.first()),
            ("Last full export", batches.filter(kind="full").first()),
        )
        if batch is not None
    ]
    return {"entries": entries, "list_url": admin_url("admin:exports_productsupbatch_changelist")}


@register.inclusion_tag("admin/syncjobs/dashboard.html", takes_context=True)
def sync_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("syncjobs.view_syncjob"):
        return {"show": False}
    now = timezone.now()
    oldest_pending = (
        SyncJob.objects.filter(status=SyncStatus.PENDING)
        .only("pk", "sync_id", "reference", "created_at")
        .order_by("created_at", "pk")
        .first()
    )
    last_resync = ResyncRun.objects.filter(dry_run=False).defer("report").order_by("-started_at", "-pk").first()
    requested = request.GET.get("resync") if request is not None else None
    watched = None
    if requested and requested.isdigit():
        watched = ResyncRun.objects.defer("report").filter(pk=int(requested)).first()
    if watched is None and last_resync is not None and last_resync.status == ResyncRun.Status.RUNNING:
        watched = last_resync
    return {
        "show": True,
        "csrf_token": context.get("csrf_token"),
        "last_24h": _counts(now - timedelta(hours=24)),
        "last_7d": _counts(now - timedelta(days=7)),
        "per_day": _per_day(7),
        "oldest_pending": oldest_pending,
        "oldest_pending_age": (now - oldest_pending.created_at) if oldest_pending else None,
        "oldest_pending_url": admin_url("admin:syncjobs_syncjob_change", oldest_pending.pk) if oldest_pending else None,
        "last_resync": last_resync,
        "resync_badge": status_badge(last_resync.status, last_resync.get_status_display()) if last_resync else None,
        "last_resync_url": admin_url("admin:syncjobs_resyncrun_change", last_resync.pk) if last_resync else None,
        "watched": resync_progress(watched) if watched else None,
        "progress_url_template": reverse("admin:syncjobs_resyncrun_progress", args=[0]).replace("/0/", "/{id}/"),
        "start_url": reverse("admin:syncjobs_resyncrun_actions", kwargs={"tool": "start_resync"}),
        "resync_list_url": reverse("admin:syncjobs_resyncrun_changelist"),
        "productsup": _productsup(),
        "failed_url": _jobs_url(status="failed"),
        "schedules_url": admin_url("admin:django_celery_beat_periodictask_changelist"),
        "can_operate": can_operate(user, ResyncRun),
    }
