"""python -m sandboxes.prestashop --host 127.0.0.1 --port 8081 --key KEY [--state-file FILE]"""

from __future__ import annotations

import argparse

from .server import DEFAULT_API_KEY, DEFAULT_IMAGE_MAX_BYTES, SandboxPrestaShop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandboxes.prestashop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--key", default=DEFAULT_API_KEY, help="webservice key (32 characters)")
    parser.add_argument("--latency-ms", type=float, default=0, help="injected delay per /api/ call")
    parser.add_argument("--image-max-bytes", type=int, default=DEFAULT_IMAGE_MAX_BYTES)
    parser.add_argument("--state-file", default=None, help="JSON file: loaded at start, saved after each write")
    parser.add_argument("--load-state", default=None, help="JSON file: loaded at start, never saved")
    args = parser.parse_args(argv)
    shop = SandboxPrestaShop(
        host=args.host,
        port=args.port,
        api_key=args.key,
        latency_ms=args.latency_ms,
        image_max_bytes=args.image_max_bytes,
        state_file=args.state_file,
        initial_state=args.load_state,
    )
    shop.serve_until_signalled(f"Sandbox PrestaShop at {{url}} (webservice {{url}}/api/, key {shop.api_key})")


if __name__ == "__main__":
    main()
