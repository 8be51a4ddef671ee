"""`python manage.py import_products FILE|- [--dry-run]` — the initial import of an ERP export (docs/operations.md, Initial import).

FILE is a JSON array of product objects, NDJSON (one per line) or a batch body `{"products": [...]}`;
`-` reads standard input. The file is streamed (never held in memory). Every product is validated like
the API does; invalid ones are reported by position and field path and skipped; valid ones are stored and
queued for the worker (source `import`, on the `bulk` queue) unless they are unchanged, so running it twice
is safe. `--dry-run` validates and reports only. A progress bar on a terminal, a log line per 1,000
products otherwise, and a summary at the end: read, valid, invalid, queued, unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.progress import Progress
from syncjobs.services.imports import ExportFormatError, Invalid, export_products, products_import


def _count_lines(path: Path) -> int | None:
    """Products in an NDJSON file (its non-empty lines), for the progress bar; None for the JSON formats."""
    with path.open("rb") as f:
        lines = (line for line in f if line.strip())
        first = next(lines, b"")
        try:
            document = json.loads(first)
        except ValueError:
            return None  # `[` or `{` opening a document over several lines
        if not isinstance(document, dict) or "products" in document:
            return None
        return 1 + sum(1 for _ in lines)


class Command(BaseCommand):
    help = "Import products from an ERP export (JSON array, NDJSON or {\"products\": [...]}); '-' reads stdin."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the export file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="validate and report only; store nothing")
        parser.add_argument("--show-errors", type=int, default=50, help="invalid products listed (default 50)")

    def handle(self, *args, file: str, dry_run: bool, show_errors: int, **options):
        if file == "-":
            stream, total = sys.stdin.buffer, None
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"No such file: {file}")
            stream, total = path.open("rb"), _count_lines(path)
        shown = 0

        def report(item: Invalid) -> None:
            nonlocal shown
            if shown >= show_errors:
                return
            shown += 1
            where = f"product {item.position}" + (f" (line {item.line})" if item.line else "")
            if item.reference:
                where += f" {item.reference}"
            fields = "; ".join(f"{d.get('field') or '-'}: {d.get('message')}" for d in item.details) or item.error
            self.stderr.write(f"{where}: {item.error}: {fields}")

        what = "Checking" if dry_run else "Importing"
        try:
            with Progress(what=what, total=total, stream=sys.stderr) as progress:
                summary = products_import(
                    items=export_products(stream),
                    dry_run=dry_run,
                    on_product=lambda s: progress.advance_to(s.read),
                    on_invalid=report,
                    keep_errors=0,
                )
        except ExportFormatError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        if summary.invalid > shown:
            self.stderr.write(f"… and {summary.invalid - shown} more invalid products")
        queued = "would be queued" if dry_run else "queued"
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}read {summary.read}, valid {summary.valid}, invalid {summary.invalid}, "
            f"{queued} {summary.queued}, unchanged {summary.unchanged}"
        )
