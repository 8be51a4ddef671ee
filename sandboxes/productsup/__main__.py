"""`python -m sandboxes.productsup --port 8082 [--state var/productsup-sandbox.json]`.

Prints one line `Productsup sandbox listening on http://HOST:PORT` (with the real port when --port 0),
then serves until interrupted; with --state the site and stream data survive restarts.
"""

from __future__ import annotations

import argparse
import os
import sys

from sandboxes.productsup.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_STREAM_TOKEN,
    SandboxProductsup,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    # Credentials default to the service's own PRODUCTSUP_* variables, so `make run` needs no flags.
    env = os.environ.get
    site = env("PRODUCTSUP_SITE", "123")
    parser.add_argument("--client-id", default=env("PRODUCTSUP_CLIENT_ID", SANDBOX_CLIENT_ID))
    parser.add_argument("--client-secret", default=env("PRODUCTSUP_CLIENT_SECRET", SANDBOX_CLIENT_SECRET))
    parser.add_argument("--site-id", type=int, default=int(site) if site.isdigit() else 123)
    parser.add_argument(
        "--site-tag", default=site if ":" in site else "sandbox:main", help="tagName:tagValue the site also answers to"
    )
    parser.add_argument("--stream-id", default=env("PRODUCTSUP_STREAM_ID", "1000"))
    parser.add_argument("--stream-token", default=env("PRODUCTSUP_STREAM_TOKEN", SANDBOX_STREAM_TOKEN))
    parser.add_argument("--process-interval", type=float, default=300.0, help="seconds between process triggers")
    parser.add_argument(
        "--state",
        "--state-file",
        dest="state",
        default=None,
        help="JSON file keeping site and stream data across restarts",
    )
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
    )
    saved_at = 0

    def save_if_asked() -> None:  # only when something was asked of it
        nonlocal saved_at
        calls = len(sandbox.state.calls)
        if calls != saved_at:
            sandbox.save()
            saved_at = calls

    sandbox.serve_until_signalled("Productsup sandbox listening on {url}", every=10, tick=save_if_asked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
