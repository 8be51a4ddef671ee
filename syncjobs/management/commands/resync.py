"""Resync products to the shop now, from the command line.

    manage.py resync --reference PROD001 [--reference PROD002] [--force]
    manage.py resync --all [--force] [--dry-run]

`--force` pushes every part even when nothing changed (restores manual edits in the shop); `--dry-run`
only reports what a full resync would change. Runs in this process (no worker needed) and prints the
outcome of each product; `--all` shows its progress (a bar on a terminal, a log line per 1,000 products
otherwise).
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Product
from config.progress import Progress
from syncjobs.models import ResyncRun, SyncAttempt, SyncSource
from syncjobs.services.manual import product_sync_request
from syncjobs.services.resync import resync_start
from syncjobs.services.runner import job_run


class Command(BaseCommand):
    help = "Resync products to PrestaShop now (one, several or all), optionally forced or as a dry run."

    def add_arguments(self, parser):
        parser.add_argument("--reference", action="append", default=[], help="a product reference (repeatable)")
        parser.add_argument("--all", action="store_true", help="every product (a full resync)")
        parser.add_argument("--force", action="store_true", help="push every part even if unchanged")
        parser.add_argument("--dry-run", action="store_true", help="with --all: report, change nothing")

    def handle(self, *args, reference, all, force, dry_run, **options):
        if bool(reference) == bool(all):
            raise CommandError("Give --reference REF (one or more) or --all.")
        if reference:
            if dry_run:
                raise CommandError("--dry-run goes with --all.")
            return self._references(reference, force)
        return self._all(force=force, dry_run=dry_run)

    def _references(self, references, force):
        failed = 0
        for ref in references:
            product = Product.objects.filter(reference=ref).first()
            if product is None:
                self.stderr.write(f"{ref}: unknown reference")
                failed += 1
                continue
            job = product_sync_request(
                product=product, user=None, force=force, enqueue=False, source=SyncSource.COMMAND
            )
            job = job_run(job_id=job.pk, trigger=SyncAttempt.Trigger.ADMIN)
            line = f"{ref}: {job.status} ({job.outcome or '-'}) {job.sync_id} presta_id={job.presta_id}"
            if job.error:
                line += f" — {job.error}"
            self.stdout.write(line)
            failed += job.status == "failed"
        if failed:
            raise CommandError(f"{failed} product(s) failed")

    def _all(self, *, force, dry_run):
        run = ResyncRun.objects.create(dry_run=dry_run, force=force, source=SyncSource.COMMAND)
        total = Product.objects.filter(is_deleted=False).count()
        with Progress(what="Dry run" if dry_run else "Resync", total=total, stream=sys.stderr) as progress:
            run = resync_start(
                run_id=run.pk, dry_run=dry_run, inline=True, on_chunk=lambda done, _: progress.advance_to(done)
            )
        kind = "Dry run" if dry_run else "Resync"
        self.stdout.write(
            f"{kind} #{run.pk}: {run.checked} checked, {run.changed} {'would change' if dry_run else 'changed'}, "
            f"{run.failed} failed"
        )
        for entry in run.report:
            self.stdout.write(f"  {entry}")
