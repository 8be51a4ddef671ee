import json

import pytest
import requests
import responses

from connectors.productsup.client import (
    PlatformClient,
    ProductsupAuthError,
    ProductsupBadRequest,
    ProductsupBatchLocked,
    ProductsupNotFound,
    ProductsupRateLimited,
    ProductsupServerError,
    StreamClient,
    new_batch_id,
)
from connectors.productsup.transports import ExportFailed, ExportItem, PlatformTransport, StreamTransport

API = "https://platform-api.test/platform/v2"
STREAM = "https://stream-api.test"
BATCH = "0123456789abcdef0123456789abcdef"


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def client(sleeps):
    return PlatformClient(api_url=API, client_id="1234", client_secret="simsalabim", site="123", sleep=sleeps)


def upload_url(site="123", batch=BATCH):
    return f"{API}/sites/{site}/products/{batch}/upload"


@responses.activate
def test_auth_header_and_site_by_id(client):
    responses.get(f"{API}/sites/123", json={"success": True, "Sites": [{"id": "123", "title": "site 1"}]})
    site = client.get_site()
    assert site["title"] == "site 1"
    assert responses.calls[0].request.headers["X-Auth-Token"] == "1234:simsalabim"
    assert client.site_id() == 123


@responses.activate
def test_site_by_tag_resolves_id_once(sleeps):
    c = PlatformClient(api_url=API, client_id="1", client_secret="s", site="shop:main", sleep=sleeps)
    responses.get(f"{API}/sites/shop:main", json={"success": True, "Sites": [{"id": "77"}]})
    responses.post(f"{API}/process/77", json={"success": True, "process_id": "a" * 32})
    responses.post(f"{API}/sites/shop:main/products/{BATCH}/upload", json={"success": True})
    assert c.trigger_process("import") == "a" * 32
    assert c.site_id() == 77
    c.upload(BATCH, [{"id": "x"}])
    assert [call.request.url for call in responses.calls].count(f"{API}/sites/shop:main") == 1


@responses.activate
def test_upload_limit_and_body(client):
    responses.post(upload_url(), json={"success": True, "products": {"count": 2}})
    receipt = client.upload(BATCH, [{"id": "a", "price": "1.00"}, {"id": "b"}])
    body = responses.calls[0].request.body
    assert json.loads(body) == [{"id": "a", "price": "1.00"}, {"id": "b"}]
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    assert receipt.rows == 2 and receipt.bytes == len(body)
    with pytest.raises(ValueError):
        client.upload(BATCH, [{"id": str(i)} for i in range(10_001)])
    with pytest.raises(ValueError):
        client.upload("short", [{"id": "a"}])
    assert len(new_batch_id()) == 32


@responses.activate
def test_chunking_at_10000_rows(client):
    seen = []

    def on_upload(request):
        seen.append(len(json.loads(request.body)))
        return 200, {}, json.dumps({"success": True})

    responses.add_callback(responses.POST, upload_url(), callback=on_upload)
    responses.post(f"{API}/sites/123/products/{BATCH}/commit", json={"success": True})
    items = (ExportItem({"id": str(i)}) for i in range(25_001))
    answer, stats = PlatformTransport(client).send_batch(batch_id=BATCH, kind="full", items=items)
    assert seen == [10_000, 10_000, 5_001]
    assert stats.requests == 3 and stats.commits == 1 and stats.rows == 25_001
    commit = responses.calls[-1].request
    assert json.loads(commit.body) == {"type": "full", "automatic_import": True}


@responses.activate
def test_423_is_waited_out_and_retried(client, sleeps):
    calls = {"n": 0}

    def locked_then_ok(request):
        calls["n"] += 1
        if calls["n"] <= 2:
            return (
                423,
                {},
                json.dumps(
                    {
                        "success": False,
                        "message": "Request was blocked because another data operation is already running",
                    }
                ),
            )
        return 200, {}, json.dumps({"success": True})

    responses.add_callback(responses.POST, upload_url(), callback=locked_then_ok)
    client.upload(BATCH, [{"id": "a"}])
    assert calls["n"] == 3
    assert len(sleeps) == 2


@responses.activate
def test_423_beyond_the_waiting_budget_raises(sleeps):
    c = PlatformClient(api_url=API, client_id="1", client_secret="s", site="123", sleep=sleeps, max_wait=0.0)
    responses.post(upload_url(), status=423, json={"success": False, "message": "locked"})
    with pytest.raises(ProductsupBatchLocked) as info:
        c.upload(BATCH, [{"id": "a"}])
    assert info.value.retryable and info.value.status == 423


@responses.activate
def test_429_honours_retry_after(client, sleeps):
    calls = {"n": 0}

    def limited_then_ok(request):
        calls["n"] += 1
        if calls["n"] == 1:
            return 429, {"Retry-After": "7"}, json.dumps({"success": False, "message": "Too many attempts"})
        return 200, {}, json.dumps({"success": True, "process_id": "p" * 32})

    responses.add_callback(responses.POST, f"{API}/process/123", callback=limited_then_ok)
    assert client.trigger_process() == "p" * 32
    assert sleeps == [7.0] and calls["n"] == 2


@responses.activate
def test_429_longer_than_budget_raises_at_once(client, sleeps):
    responses.post(
        f"{API}/process/123",
        status=429,
        headers={"Retry-After": "300"},
        json={"success": False, "message": "Too many attempts"},
    )
    with pytest.raises(ProductsupRateLimited) as info:
        client.trigger_process()
    assert info.value.retry_after == 300 and sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_5xx_retried_with_backoff_for_idempotent_calls(client, sleeps):
    calls = {"n": 0}

    def flaky(request):
        calls["n"] += 1
        if calls["n"] < 3:
            return 502, {}, "bad gateway"
        return 200, {}, json.dumps({"success": True, "status": "success"})

    responses.add_callback(responses.GET, f"{API}/sites/123/status/pid1", callback=flaky)
    assert client.process_status("pid1") == "success"
    assert calls["n"] == 3 and len(sleeps) == 2


@responses.activate
def test_5xx_on_upload_is_not_resent_into_the_batch(client, sleeps):
    responses.post(upload_url(), status=500, json={"success": False, "message": "boom"})
    with pytest.raises(ProductsupServerError):
        client.upload(BATCH, [{"id": "a"}])
    assert len(responses.calls) == 1


@responses.activate
def test_5xx_gives_up_after_max_attempts(client, sleeps):
    responses.get(f"{API}/sites/123/importhistory", status=503, json={"success": False, "message": "maintenance"})
    with pytest.raises(ProductsupServerError) as info:
        client.import_history()
    assert len(responses.calls) == client.max_attempts
    assert info.value.retryable


@responses.activate
def test_timeouts_are_passed_and_mapped(client, sleeps):
    responses.get(f"{API}/sites/123", body=requests.ReadTimeout("slow"))
    with pytest.raises(ProductsupServerError):
        client.get_site()
    assert len(responses.calls) == client.max_attempts


@responses.activate
@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (401, ProductsupAuthError),
        (403, ProductsupAuthError),
        (404, ProductsupNotFound),
        (400, ProductsupBadRequest),
        (406, ProductsupBadRequest),
    ],
)
def test_errors_are_mapped(client, status, exc):
    responses.get(f"{API}/sites/123", status=status, json={"success": False, "message": "Forbidden, your auth token"})
    with pytest.raises(exc) as info:
        client.get_site()
    assert info.value.status == status and not info.value.retryable
    assert "Forbidden" in str(info.value)
    assert len(responses.calls) == 1


@responses.activate
def test_failed_upload_discards_the_batch(client, sleeps):
    responses.post(upload_url(), json={"success": True})
    responses.post(upload_url(), status=400, json={"success": False, "message": "bad rows"})
    responses.post(f"{API}/sites/123/products/{BATCH}/discard", json={"success": True})
    transport = PlatformTransport(client)
    transport.max_rows = 2
    with pytest.raises(ExportFailed) as info:
        transport.send_batch(batch_id=BATCH, kind="delta", items=(ExportItem({"id": str(i)}) for i in range(5)))
    assert info.value.discarded and info.value.stage == "upload" and not info.value.retryable
    assert responses.calls[-1].request.url.endswith("/discard")
    assert not any(c.request.url.endswith("/commit") for c in responses.calls)


@responses.activate
def test_delta_rows_carry_delete_flag_and_full_skips_hard_deletes(client):
    bodies = []
    responses.add_callback(
        responses.POST, upload_url(), callback=lambda r: bodies.append(json.loads(r.body)) or (200, {}, "{}")
    )
    responses.post(f"{API}/sites/123/products/{BATCH}/commit", json={"success": True})
    items = [ExportItem({"id": "a"}), ExportItem({"id": "b"}, deleted=True)]
    PlatformTransport(client).send_batch(batch_id=BATCH, kind="delta", items=items)
    assert bodies[-1] == [{"id": "a"}, {"id": "b", "pup:isdeleted": -1}]
    PlatformTransport(client, soft_delete=True).send_batch(batch_id=BATCH, kind="delta", items=items)
    assert bodies[-1][1]["pup:isdeleted"] == 1
    _, stats = PlatformTransport(client).send_batch(batch_id=BATCH, kind="full", items=items)
    assert bodies[-1] == [{"id": "a"}] and stats.skipped == 1


@responses.activate
def test_product_read_uses_product_api(client):
    responses.get(
        "https://platform-api.test/product/v2/site/123/stage/intermediate/0/",
        json={"success": True, "products": [{"id": "1"}]},
    )
    assert client.read_products(fields=["id"], limit=10) == [{"id": "1"}]
    assert "fields%5B0%5D=id" in responses.calls[0].request.url


# --- Stream API --------------------------------------------------------------------------------
@pytest.fixture
def stream(sleeps):
    return StreamClient(api_url=STREAM, stream_id="1000", token="tok", sleep=sleeps)


def batch_answer(n, errors=0):
    return {
        "data": {
            "type": "batch",
            "id": "b15e8bb1-bd53-470a-9597-785003536978",
            "attributes": {
                "status": "uploaded",
                "stages": {
                    "upload": {
                        "status": "warning" if errors else "success",
                        "successCount": n - errors,
                        "errorCount": errors,
                        "errors": [{"message": "too big"}] if errors else [],
                    }
                },
            },
        }
    }


@responses.activate
def test_stream_upload_ndjson_bearer(stream):
    responses.post(f"{STREAM}/streams/1000/products", json=batch_answer(2))
    receipt = stream.upload([{"id": "a"}, {"id": "b"}])
    req = responses.calls[0].request
    assert req.headers["Authorization"] == "Bearer tok"
    assert req.headers["Content-Type"] == "application/x-ndjson"
    assert req.body == b'{"id":"a"}\n{"id":"b"}\n'
    assert receipt.remote_batch_id.startswith("b15e") and receipt.error_count == 0


@responses.activate
def test_stream_partial_upload_and_deletes(stream):
    responses.post(f"{STREAM}/streams/1000/products", status=202, json=batch_answer(2, errors=1))
    responses.delete(f"{STREAM}/streams/1000/products", json=batch_answer(1))
    items = [ExportItem({"id": "a"}), ExportItem({"id": "b"}), ExportItem({"id": "gone"}, deleted=True)]
    answer, stats = StreamTransport(stream).send_batch(batch_id=BATCH, kind="full", items=items)
    assert stats.invalid == 1 and answer["errors"] == [{"message": "too big"}]
    delete = responses.calls[-1].request
    assert delete.method == "DELETE" and delete.body == b'{"id":"gone"}\n'
    assert "all=true" not in delete.url


@responses.activate
def test_stream_429_uses_ratelimit_reset(stream, sleeps):
    import time

    responses.post(
        f"{STREAM}/streams/1000/products",
        status=429,
        headers={"ratelimit-reset": str(time.time() + 0.5)},
        json={"errors": [{"status": "429", "title": "Too Many Requests"}]},
    )
    responses.post(f"{STREAM}/streams/1000/products", json=batch_answer(1))
    stream.upload([{"id": "a"}])
    assert len(responses.calls) == 2 and 0 < sleeps[-1] <= 0.5


@responses.activate
def test_stream_auth_error(stream):
    responses.post(
        f"{STREAM}/streams/1000/products", status=401, json={"errors": [{"status": "401", "title": "Unauthorized"}]}
    )
    with pytest.raises(ProductsupAuthError, match="Unauthorized"):
        stream.upload([{"id": "a"}])


# --- PRODUCTSUP_API_URL: the host (docs/operations.md, Configuration), or a base already ending in /platform/v2 -------------
@pytest.mark.parametrize(
    "api_url",
    [
        "https://platform-api.test",
        "https://platform-api.test/",
        "https://platform-api.test/platform/v2",
        "https://platform-api.test/platform/v2/",
    ],
)
@responses.activate
def test_api_url_is_the_host_or_the_platform_base(api_url, sleeps):
    client = PlatformClient(api_url=api_url, client_id="1234", client_secret="s", site="123", sleep=sleeps)
    responses.get("https://platform-api.test/platform/v2/sites/123", json={"success": True, "Sites": [{"id": 123}]})
    responses.get(
        "https://platform-api.test/product/v2/site/123/stage/intermediate/0/",
        json={"success": True, "products": [{"id": "1"}]},
    )
    client.get_site()
    assert client.read_products(fields=["id"], limit=1) == [{"id": "1"}]
    assert [c.request.url.split("?")[0] for c in responses.calls] == [
        "https://platform-api.test/platform/v2/sites/123",
        "https://platform-api.test/product/v2/site/123/stage/intermediate/0/",
    ]
