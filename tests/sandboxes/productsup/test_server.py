"""The sandbox Productsup over real HTTP: auth, envelopes, limits, locks, rate limits, data semantics."""

import json
import threading

import pytest
import requests

from connectors.productsup.client import PlatformClient, ProductsupRateLimited, StreamClient, new_batch_id
from sandboxes.productsup import SandboxProductsup

TOKEN = {"X-Auth-Token": "1234:sandbox-secret"}


@pytest.fixture
def sb():
    with SandboxProductsup(port=0, keep_rows=True) as sandbox:
        yield sandbox


def post(sb, path, body, headers=TOKEN):
    return requests.post(f"{sb.platform_url}{path}", data=json.dumps(body), headers=headers, timeout=10)


def test_auth_and_envelopes(sb):
    r = requests.get(f"{sb.platform_url}/sites", timeout=5)
    assert r.status_code == 401 and r.json() == {
        "success": False,
        "message": "Forbidden, your auth token seems to be invalid",
    }
    r = requests.get(f"{sb.platform_url}/sites/123", headers=TOKEN, timeout=5)
    assert r.json()["success"] is True and r.json()["Sites"][0]["id"] == "123"
    assert requests.get(f"{sb.platform_url}/sites/999", headers=TOKEN, timeout=5).status_code == 404
    r = requests.post(f"{sb.stream_url}/streams/1000/products", data=b'{"id":"1"}\n', timeout=5)
    assert r.status_code == 401 and r.json()["errors"][0]["status"] == "401"


def test_upload_limits(sb):
    batch = new_batch_id()
    assert post(sb, f"/sites/123/products/{batch}/upload", [{"id": str(i)} for i in range(10_001)]).status_code == 400
    assert post(sb, "/sites/123/products/short/upload", [{"id": "1"}]).status_code == 400
    assert post(sb, f"/sites/123/products/{batch}/upload", [{"title": "no id"}]).status_code == 400
    assert post(sb, f"/sites/123/products/{batch}/upload", [{"id": str(i)} for i in range(10_000)]).status_code == 200
    assert post(sb, f"/sites/123/products/{new_batch_id()}/commit", {"type": "full"}).status_code == 404


def test_full_replaces_delta_merges(sb):
    sb.put_site_rows([{"id": "old"}, {"id": "soft"}, {"id": "hard"}])
    delta = new_batch_id()
    post(
        sb,
        f"/sites/123/products/{delta}/upload",
        [{"id": "new"}, {"id": "soft", "pup:isdeleted": 1}, {"id": "hard", "pup:isdeleted": -1}],
    )
    post(sb, f"/sites/123/products/{delta}/commit", {"type": "delta", "automatic_import": True})
    rows = sb.site_rows()
    assert set(rows) == {"old", "soft", "new"} and rows["soft"]["pup:isdeleted"] == 1
    full = new_batch_id()
    post(sb, f"/sites/123/products/{full}/upload", [{"id": "only"}])
    post(sb, f"/sites/123/products/{full}/commit", {"type": "full", "automatic_import": True})
    assert set(sb.site_rows()) == {"only"}
    discarded = new_batch_id()
    post(sb, f"/sites/123/products/{discarded}/upload", [{"id": "never"}])
    post(sb, f"/sites/123/products/{discarded}/discard", {})
    assert post(sb, f"/sites/123/products/{discarded}/commit", {"type": "delta"}).status_code == 400
    assert "never" not in sb.site_rows()


def test_concurrent_operations_on_one_batch_get_423(sb):
    batch = new_batch_id()
    body = [{"id": str(i), "payload": "x" * 200} for i in range(10_000)]
    statuses = []

    def upload():
        statuses.append(post(sb, f"/sites/123/products/{batch}/upload", body).status_code)

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 200 in statuses
    assert set(statuses) <= {200, 423}
    assert sb.batch(batch)["uploads"] == statuses.count(200)


def test_process_trigger_rate_limit(sb):
    client = PlatformClient(
        api_url=sb.platform_url, client_id="1234", client_secret="sandbox-secret", site="123", max_wait=1
    )
    pid = client.trigger_process("import")
    assert len(pid) == 32 and client.process_status(pid) == "success"
    assert client.process_status("unknown") == "queued"
    with pytest.raises(ProductsupRateLimited) as info:
        client.trigger_process("import")
    assert 290 <= info.value.retry_after <= 300


def test_stream_rate_limit_30_per_second(sb):
    session = requests.Session()
    headers = {"Authorization": "Bearer sandbox-stream-token", "Content-Type": "application/x-ndjson"}
    codes = [
        session.post(
            f"{sb.stream_url}/streams/1000/products", data=b'{"id":"1"}\n', headers=headers, timeout=5
        ).status_code
        for _ in range(35)
    ]
    assert codes[:30] == [200] * 30 and 429 in codes[30:]
    # The client paces itself under the limit and waits out a 429.
    client = StreamClient(api_url=sb.stream_url, stream_id="1000", token="sandbox-stream-token")
    for i in range(40):
        client.upload([{"id": f"p{i}"}])
    assert len(sb.stream_rows()) == 41


def test_product_read_limit(sb):
    sb.state.read_rate = 2
    sb.put_site_rows([{"id": "1", "gtin": "42"}])
    client = PlatformClient(
        api_url=sb.platform_url, client_id="1234", client_secret="sandbox-secret", site="123", max_wait=0
    )
    client._read_pacer.interval = 0
    assert client.read_products(fields=["id"]) == [{"id": "1"}]
    client.read_products()
    with pytest.raises(ProductsupRateLimited):
        client.read_products()
