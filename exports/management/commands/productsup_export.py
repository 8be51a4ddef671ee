"""`python manage.py productsup_export [--full] [--process] [--wait SECONDS]`

Sends what is pending (a delta of every changed product), or with --full every product, to Productsup
now, and prints the batch; the upload's progress shows as a bar on a terminal, a log line per upload
request otherwise. --process then asks Productsup to start a process for it (staff only: the
commit already schedules one with automatic_import).
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Product
from config.progress import Progress
from exports.models import ProductsupBatch
from exports.services import ExportBusy, productsup_export, productsup_process_trigger


class Command(BaseCommand):
    help = "Send pending product changes (or, with --full, every product) to Productsup now."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="send every product in one full batch")
        parser.add_argument("--process", action="store_true", help="trigger a Productsup process afterwards")
        parser.add_argument("--wait", type=int, default=120, help="seconds to wait for a running export")

    def handle(self, *args, full: bool = False, process: bool = False, wait: int = 120, **options):
        deadline = time.monotonic() + max(0, wait)
        total = Product.objects.count() if full else None
        with Progress(
            what="Productsup full export" if full else "Productsup export", total=total, stream=sys.stderr
        ) as bar:
            while True:
                try:
                    batch = productsup_export(
                        full=full,
                        triggered_by=ProductsupBatch.Trigger.COMMAND,
                        on_progress=lambda stats: bar.advance_to(stats.rows),
                    )
                    break
                except ExportBusy as exc:
                    if time.monotonic() >= deadline:
                        raise CommandError(str(exc)) from exc
                    time.sleep(2)
        if batch is None:
            self.stdout.write("Nothing to send (no pending changes, or PRODUCTSUP_ENABLED is off).")
            return
        self.stdout.write(
            f"{batch.kind} batch {batch.batch_id} via {batch.transport}: {batch.status}; "
            f"{batch.rows} rows, {batch.requests} requests, {batch.bytes} bytes, {batch.duration_ms} ms"
        )
        if batch.status not in (ProductsupBatch.Status.COMMITTED, ProductsupBatch.Status.PARTIAL):
            raise CommandError(f"the batch did not commit: {batch.error}")
        if process:
            pid = productsup_process_trigger(batch=batch)
            self.stdout.write(f"Process started: {pid}")
