"""Worker hooks: every worker's main process runs the recovery sweeper (services/recovery.py)."""

from __future__ import annotations

from celery.signals import worker_ready, worker_shutdown

from syncjobs.services.recovery import recovery_thread_start, recovery_thread_stop


@worker_ready.connect
def start_recovery(sender=None, **kwargs) -> None:
    recovery_thread_start()


@worker_shutdown.connect
def stop_recovery(sender=None, **kwargs) -> None:
    recovery_thread_stop()
