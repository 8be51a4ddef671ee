"""The shop's ids of features and feature values we already know, kept in the database for every process.

`known` is the connector's cache format (`ShopSync.resolve_features`): {"features": {name: id_feature},
"values": {feature_value_key(id_feature, value): id_feature_value}}. Manufacturer ids live on the Brand row.
"""

from __future__ import annotations

from catalog.models import ShopFeature, ShopFeatureValue
from connectors.prestashop.types import FeatureSpec


def feature_value_key(feature_id: int, value: str) -> str:
    """The key of one feature value in `known` (the connector's format)."""
    return f"{feature_id}|{value}"


def shop_ids_known() -> dict:
    features = dict(ShopFeature.objects.values_list("name", "presta_id"))
    values = {
        feature_value_key(fid, value): vid
        for fid, value, vid in ShopFeatureValue.objects.values_list("feature__presta_id", "value", "presta_id")
    }
    return {"features": features, "values": values}


def shop_ids_save(known: dict) -> None:
    """Remember ids the connector resolved (rows that exist are left alone)."""
    by_presta = {}
    for name, presta_id in known.get("features", {}).items():
        feature, _ = ShopFeature.objects.get_or_create(name=name, defaults={"presta_id": presta_id})
        by_presta[presta_id] = feature
    for key, value_id in known.get("values", {}).items():
        fid, _, value = key.partition("|")
        feature = by_presta.get(int(fid))
        if feature is not None:
            ShopFeatureValue.objects.get_or_create(feature=feature, value=value, defaults={"presta_id": value_id})


def shop_ids_lookup(feature: FeatureSpec, known: dict) -> tuple[int, int] | None:
    """(id_feature, id_feature_value) of one feature if both are known, else None."""
    fid = known.get("features", {}).get(feature.name)
    if fid is None:
        return None
    vid = known.get("values", {}).get(feature_value_key(fid, feature.value))
    return None if vid is None else (fid, vid)


def shop_ids_missing(features: list[FeatureSpec], known: dict) -> bool:
    """True when some feature or value id is not known yet (resolving it costs shop calls)."""
    return any(shop_ids_lookup(f, known) is None for f in features)
