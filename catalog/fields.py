"""DRF fields that refuse wrong JSON types instead of coercing them ("5" is not a number, 1 is not true)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from config.api.params import unsafe_text_reason


class StrictCharField(serializers.CharField):
    """A JSON string holding text the database and the shop's XML can carry (no NUL, controls, lone surrogates)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        reason = unsafe_text_reason(data.replace("\t", " ").replace("\n", " ").replace("\r", " "))
        if reason is not None:
            raise serializers.ValidationError(reason)
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
            data = Decimal(str(data)) if isinstance(data, float) else data
            if not data.is_finite():
                self.fail("invalid")
            if data.adjusted() > 30:  # 1e999999999 would take forever to turn into an int
                self.fail("max_value", max_value=self.max_value)
            if data != data.to_integral_value():
                self.fail("invalid")
            data = int(data)
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A JSON number (never a string), parsed as Decimal; the schema says `type: number` with its bounds."""

    default_error_messages = {"invalid": "Must be a number."}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, Decimal, float)):
            self.fail("invalid")
        if isinstance(data, Decimal) and not data.is_finite():
            self.fail("invalid")
        return super().to_internal_value(Decimal(str(data)) if isinstance(data, float) else data)


class StrictDecimalFieldSchema(OpenApiSerializerFieldExtension):
    """`type: number` in the schema, with the bounds the field enforces (not drf-spectacular's decimal string)."""

    target_class = StrictDecimalField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema: dict = {"type": "number"}
        if field.min_value is not None:
            schema["minimum"] = int(field.min_value) if field.min_value == int(field.min_value) else field.min_value
        if field.max_digits is not None and field.decimal_places is not None:
            whole = field.max_digits - field.decimal_places
            schema["maximum"] = float(Decimal(10) ** whole - Decimal(10) ** -field.decimal_places)
            schema["description"] = f"At most {whole} digits before the point and {field.decimal_places} after it."
        return schema


# A serializer whose fields are deep-copied and bound once per class and process, not per instance.
# DRF deep-copies every declared field (and every nested serializer's fields) for each serializer it builds:
# for the product object that is most of the validation's cost (~65 %), on every request. Validation keeps
# no state in field objects (errors are raised, values returned; `validate_<field>` methods are looked up on
# the instance being validated), so one set of bound fields serves every instance. They are bound to a bare
# instance of the class, so they hold no request's data. (No docstring: the schema would show it.)
# Serializers whose fields depend on the instance or its context must not use this.
class FieldsBoundOnce:
    @property
    def fields(self):
        cls = type(self)
        bound = cls.__dict__.get("_fields_bound_once")
        if bound is None:
            bound = serializers.Serializer.fields.func(cls())  # BindingDict of fresh copies, bound once
            cls._fields_bound_once = bound
        return bound
