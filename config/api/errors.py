"""Our own API errors. Raise these from services; the exception handler renders the envelope."""

from __future__ import annotations


class ApplicationError(Exception):
    """An error the API answers with the envelope of docs/api.md and a chosen status code."""

    status_code = 400
    default_error = "Request failed"

    def __init__(
        self,
        error: str | None = None,
        *,
        details: list[dict] | None = None,
        data: dict | None = None,
        status_code: int | None = None,
    ) -> None:
        self.error = error or self.default_error
        self.details = details or []
        self.data = data
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.error)


class BusinessRuleError(ApplicationError):
    """Valid JSON that breaks a business rule (unknown category, not an image…): 422."""

    status_code = 422
    default_error = "Business rule violated"


class ConflictError(ApplicationError):
    status_code = 409
    default_error = "Conflict"


class NotFoundError(ApplicationError):
    status_code = 404
    default_error = "Not found"


class UpstreamError(ApplicationError):
    """A remote system (PrestaShop) failed during a synchronous call: 502 with the sync job."""

    status_code = 502
    default_error = "PrestaShop API communication error"


def detail(field: str, message: str) -> dict:
    return {"field": field, "message": message}
