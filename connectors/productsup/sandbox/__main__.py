"""`python -m connectors.productsup.sandbox --port 8082 [--state var/productsup-sandbox.json]`.

Prints one line `Productsup sandbox listening on http://HOST:PORT` (with the real port when --port 0),
then serves until interrupted; with --state the site and stream data survive restarts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from connectors.productsup.sandbox.server import SandboxProductsup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--client-id", default="1234")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--site-id", type=int, default=123)
    parser.add_argument("--site-tag", default="sandbox:main", help="tagName:tagValue the site also answers to")
    parser.add_argument("--stream-id", default="1000")
    parser.add_argument("--stream-token", default="sandbox-stream-token")
    parser.add_argument("--process-interval", type=float, default=300.0, help="seconds between process triggers")
    parser.add_argument("--state", default=None, help="JSON file keeping site and stream data across restarts")
    args = parser.parse_args(argv)

    sandbox = SandboxProductsup(
        args.host,
        args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        site_id=args.site_id,
        site_tag=args.site_tag,
        stream_id=args.stream_id,
        stream_token=args.stream_token,
        process_interval=args.process_interval,
        state_file=args.state,
    ).start()
    print(f"Productsup sandbox listening on {sandbox.url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(30):
            sandbox.save()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
