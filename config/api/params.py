"""Query parameters read safely: a value no database or shop could hold is a 400 naming the parameter."""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError

# C0 controls (NUL included: PostgreSQL refuses it in text), DEL and C1 controls, and lone surrogates.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unsafe_text_reason(value: str) -> str | None:
    """Why a string cannot be stored or sent on (None when it can)."""
    match = _UNSAFE.search(value)
    if match is None:
        return None
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        return f"Must be valid Unicode text (lone surrogate U+{ord(char):04X})."
    return f"Must not contain control characters (U+{ord(char):04X})."


def query_param(request, name: str, *, max_length: int) -> str:
    """The required query parameter `name`, stripped; 400 on `name` when missing, too long or unsafe."""
    values = request.query_params.getlist(name)
    value = (values[-1] if values else "").strip()
    if not value:
        raise ValidationError({name: ["This query parameter is required."]})
    reason = unsafe_text_reason(value)
    if reason is None and len(value) > max_length:
        reason = f"Ensure this value has at most {max_length} characters."
    if reason is not None:
        raise ValidationError({name: [reason]})
    return value
