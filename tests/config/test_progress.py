"""Progress of the long commands: a log line per 1,000 products off a terminal, a tqdm bar on one; and
`resync --all` / `productsup_export --full` report theirs, with the command's jobs recorded as `command`."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.management import call_command

from config.progress import Progress
from syncjobs.models import ResyncRun, SyncJob
from tests.factories.catalog import product_payload
from tests.factories.exports import make_product

pytestmark = pytest.mark.django_db


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def progress_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "products_sync.progress"]


def test_a_line_per_thousand_off_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="products_sync.progress")
    with Progress(what="Import", total=2500, stream=io.StringIO()) as progress:
        for _ in range(2500):
            progress.update()
    assert progress_lines(caplog) == [
        "Import: 1000/2500 products (40%)",
        "Import: 2000/2500 products (80%)",
        "Import: 2500/2500 products (100%)",
    ]


def test_a_bar_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="products_sync.progress")
    stream = Tty()
    with Progress(what="Import", total=3000, stream=stream) as progress:
        progress.update(3000)
    assert "3000/3000" in stream.getvalue() and "Import" in stream.getvalue()
    assert progress_lines(caplog) == []


def test_resync_all_restores_the_shop_and_records_command_jobs(api_client, sandbox_shop, caplog, capsys):
    for ref in ("R1", "R2"):
        assert api_client.post_json("/api/products/sync", product_payload(reference=ref)).status_code == 200
    r1 = sandbox_shop.product_by_reference("R1")
    sandbox_shop.edit_product_by_hand(r1["id"], name="Edited in the shop")
    caplog.set_level(logging.INFO, logger="products_sync.progress")

    call_command("resync", all=True)

    assert "2 checked, 1 changed" in capsys.readouterr().out
    assert sandbox_shop.product_by_reference("R1")["name"][1] == "Professional Coffee Machine"
    assert ResyncRun.objects.get().source == "command"
    assert list(SyncJob.objects.filter(payload__has_key="resync").values_list("source", flat=True)) == ["command"]
    assert progress_lines(caplog) == ["Resync: 2/2 products (100%)"]


def test_productsup_full_export_reports_progress(productsup, caplog):
    for ref in ("A", "B", "C"):
        make_product(ref)
    caplog.set_level(logging.INFO, logger="products_sync.progress")
    call_command("productsup_export", "--full")
    assert progress_lines(caplog) == ["Productsup full export: 3/3 products (100%)"]
