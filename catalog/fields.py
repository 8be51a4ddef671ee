"""DRF fields that refuse wrong JSON types instead of coercing them ("5" is not a number, 1 is not true)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be a boolean (true or false)."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, Decimal, float)):
            self.fail("invalid")
        if isinstance(data, (Decimal, float)):
            if data != data or data in (Decimal("Infinity"), Decimal("-Infinity")) or data != int(data):
                self.fail("invalid")
            data = int(data)
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    default_error_messages = {"invalid": "Must be a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, Decimal, float)):
            self.fail("invalid")
        return super().to_internal_value(Decimal(str(data)) if isinstance(data, float) else data)
