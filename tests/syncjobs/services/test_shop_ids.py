from __future__ import annotations

import pytest

from connectors.prestashop.types import FeatureSpec
from syncjobs.services.shop_ids import (
    feature_value_key,
    shop_ids_known,
    shop_ids_lookup,
    shop_ids_missing,
    shop_ids_save,
)

pytestmark = pytest.mark.django_db


def test_resolved_ids_are_remembered_for_every_process():
    power = FeatureSpec(name="Power", value="1500 W", position=0)
    colour = FeatureSpec(name="Colour", value="Red", position=1)
    assert shop_ids_missing([power], shop_ids_known())

    shop_ids_save({"features": {"Power": 3}, "values": {feature_value_key(3, "1500 W"): 21}})

    known = shop_ids_known()
    assert shop_ids_lookup(power, known) == (3, 21)
    assert not shop_ids_missing([power], known)
    assert shop_ids_missing([power, colour], known)
    shop_ids_save({"features": {"Power": 99}, "values": {}})  # an existing row is left alone
    assert shop_ids_known()["features"]["Power"] == 3
