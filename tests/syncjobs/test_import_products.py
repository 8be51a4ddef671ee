"""`manage.py import_products` (docs/operations.md, Initial import): the three formats and stdin, streaming, the API's validation and
field paths, `source: import` on the `bulk` queue, `--dry-run`, idempotent re-runs, the summary."""

from __future__ import annotations

import io
import itertools
import json
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from bench.erp_export import products
from catalog.models import Product
from config.celery import app
from syncjobs.models import SyncJob
from syncjobs.services.imports import export_products
from syncjobs.tasks import sync_jobs_task
from tests.factories.images import image_item

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "erp-export.ndjson"


def summary_of(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def ndjson(items) -> bytes:
    return b"".join(json.dumps(p).encode() + b"\n" for p in items)


def bulk_messages() -> list[dict]:
    """The task messages waiting on the `bulk` queue of the test process's (in-memory) broker."""
    found = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue("bulk")
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                break
            found.append(message.headers)
            message.ack()
        queue.close()
    return found


def test_sample_export_is_stored_queued_on_bulk_and_a_second_run_costs_nothing(
    tmp_path, sandbox_shop, capsys, django_capture_on_commit_callbacks
):
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"".join(SAMPLE.read_bytes().splitlines(keepends=True)[:20]))
    bulk_messages()  # start from an empty queue

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_products", str(path))

    assert summary_of(capsys) == "read 20, valid 20, invalid 0, queued 20, unchanged 0"
    jobs = SyncJob.objects.all()
    assert jobs.count() == 20 and {j.source for j in jobs} == {"import"} and {j.status for j in jobs} == {"pending"}
    product = Product.objects.get(reference="ERP000001")
    assert product.images.count() == 2 and product.technical_data.count() >= 2 and product.brand is not None
    messages = bulk_messages()  # one message for the chunk of 20 jobs, on `bulk`
    assert [m["task"] for m in messages] == ["syncjobs.tasks.sync_jobs_task"]
    job_ids = sorted(jobs.values_list("pk", flat=True))
    assert messages[0]["argsrepr"] == repr((job_ids,))

    # What a worker does with that message: every job runs and the products reach the shop.
    sync_jobs_task.apply(args=(job_ids[:3],))
    assert SyncJob.objects.filter(pk__in=job_ids[:3], status="completed").count() == 3
    assert sandbox_shop.product_by_reference("ERP000001") is not None

    sandbox_shop.reset_calls()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_products", str(path))
    assert summary_of(capsys) == "read 20, valid 20, invalid 0, queued 0, unchanged 20"
    assert SyncJob.objects.count() == 20  # and the three that ran are unchanged too
    assert sandbox_shop.calls == []  # not even the category check
    assert bulk_messages() == []

    # One product changed in the export: only it is stored and queued again.
    lines = path.read_bytes().splitlines(keepends=True)
    changed = json.loads(lines[3])
    changed["price"] = 1.5
    lines[3] = json.dumps(changed).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_products", str(path))
    assert summary_of(capsys) == "read 20, valid 20, invalid 0, queued 1, unchanged 19"
    assert str(Product.objects.get(reference=changed["reference"]).price) == "1.500000"


def test_invalid_products_are_reported_by_position_and_field_path_and_skipped(tmp_path, sandbox_shop, capsys):
    good = list(products(3, images=1, prefix="OK"))
    bad_price = {**good[0], "reference": "BAD1", "price": -1}
    bad_image = {**good[0], "reference": "BAD2", "images": [{"fileName": "x.png", "base64": "not base64!"}]}
    wrong_kind = {**good[0], "reference": "BAD3", "images": [{**image_item("a.png"), "fileName": "a.jpg"}]}
    unknown_category = {**good[0], "reference": "BAD4", "categories": [2, 999]}
    path = tmp_path / "export.ndjson"
    path.write_bytes(
        ndjson([good[0], bad_price])
        + b"{not json\n\n"
        + ndjson([bad_image, good[1], wrong_kind, unknown_category, good[2]])
    )

    call_command("import_products", str(path))

    out = capsys.readouterr()
    assert out.out.strip().endswith("read 8, valid 3, invalid 5, queued 3, unchanged 0")
    errors = out.err.splitlines()
    assert "product 2 (line 2) BAD1: Validation failed: price:" in errors[0]
    assert "product 3 (line 3): Validation failed: -: Not valid JSON" in errors[1]
    assert "product 4 (line 5) BAD2: Validation failed: images[0].base64:" in errors[2]
    assert "product 6 (line 7) BAD3: Invalid image: images[0].base64:" in errors[3]
    assert "product 7 (line 8) BAD4: Unknown category: categories: Category 999 does not exist" in errors[4]
    assert set(Product.objects.values_list("reference", flat=True)) == {"OK000001", "OK000002", "OK000003"}


@pytest.mark.parametrize("shape", ["array", "batch", "batch-pretty"])
def test_json_array_and_batch_body_from_stdin(shape, sandbox_shop, capsys, monkeypatch):
    items = list(products(3, images=1, prefix="J"))
    if shape == "array":
        body = json.dumps(items).encode()
    elif shape == "batch":
        body = json.dumps({"products": items}).encode()
    else:
        body = json.dumps({"products": items}, indent=2).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))

    call_command("import_products", "-")

    assert summary_of(capsys) == "read 3, valid 3, invalid 0, queued 3, unchanged 0"
    assert Product.objects.count() == 3


def test_dry_run_validates_and_stores_nothing(tmp_path, sandbox_shop, capsys):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([*products(2, images=0), {"operation": "create", "reference": "X"}]))

    call_command("import_products", str(path), "--dry-run")

    out = capsys.readouterr()
    assert out.out.strip().endswith("Dry run: read 3, valid 2, invalid 1, would be queued 2, unchanged 0")
    assert "product 3 X: Validation failed: name:" in out.err
    assert not Product.objects.exists() and not SyncJob.objects.exists()


class Endless(io.RawIOBase):
    """An export that never ends: reading it whole would never return."""

    def __init__(self, head: bytes, item: bytes, sep: bytes) -> None:
        self.pending = head
        self.item, self.sep = item, sep
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self.pending:
            self.pending = self.item + self.sep
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        self.bytes_read += n
        return n


@pytest.mark.parametrize(
    "head,sep", [(b"", b"\n"), (b"[", b","), (b'{"products": [', b",")], ids=["ndjson", "array", "batch"]
)
def test_exports_are_streamed(head, sep):
    item = json.dumps(next(products(1, images=0))).encode()
    stream = Endless(head, item, sep)
    first = list(itertools.islice(export_products(io.BufferedReader(stream)), 1000))
    assert len(first) == 1000 and first[-1][0] == 1000
    assert stream.bytes_read < 1100 * (len(item) + 1) + 200_000  # read as it goes, not to the end
