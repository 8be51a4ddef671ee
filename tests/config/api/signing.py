"""A WSGI wrapper that plays the ERP's part for generated requests: it signs every webhook body as the ERP would,
so a fuzzer's requests get past the signature check and reach the validation behind it."""

from __future__ import annotations

import io

from tests.factories.webhooks import WEBHOOK_URL, sign


class SigningApp:
    def __init__(self, app, secret: str) -> None:
        self.app = app
        self.secret = secret
        self.calls = 0
        self.statuses: dict[int, int] = {}

    def __call__(self, environ, start_response):
        self.calls += 1
        if environ.get("PATH_INFO") == WEBHOOK_URL:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["HTTP_X_GESMART_SIGNATURE"] = sign(body, self.secret)

        def recording_start_response(status, headers, exc_info=None):
            code = int(status.split(" ", 1)[0])
            self.statuses[code] = self.statuses.get(code, 0) + 1
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start_response)
