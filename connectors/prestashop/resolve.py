"""Shop ids of manufacturers, features and feature values: the one key type, and resolution in bulk.

`ShopIds` is what the service already knows (it persists it; every entry costs no call). `resolve()` finds
or creates everything a set of products needs, at once: at most one listing of manufacturers, one of
features and one of the values of features that already existed, then one POST per thing the shop does
not have, each created once however many products share it. So a batch resolves its dependencies up
front and pushes its products concurrently afterwards, with no lock held across their calls.

Keys: a manufacturer by its shop name casefolded; a feature by its shop name (as sent, after the shop's
character rules); a value by `ValueKey(feature id, value text)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.prestashop import mapping
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.types import FeatureSpec


@dataclass(frozen=True, order=True)
class ValueKey:
    feature_id: int
    value: str


def manufacturer_key(name: str) -> str:
    return mapping.manufacturer_name(name or "").casefold()


def feature_key(feature: FeatureSpec) -> tuple[str, str]:
    """(feature name, value text) as the shop will hold them."""
    return mapping.feature_name(feature.name), mapping.feature_value(feature.value)


@dataclass
class ShopIds:
    manufacturers: dict[str, int] = field(default_factory=dict)  # manufacturer_key → id_manufacturer
    features: dict[str, int] = field(default_factory=dict)  # feature name → id_feature
    values: dict[ValueKey, int] = field(default_factory=dict)  # → id_feature_value

    def manufacturer(self, name: str) -> int | None:
        return self.manufacturers.get(manufacturer_key(name))

    def pair(self, feature: FeatureSpec) -> tuple[int, int] | None:
        """(id_feature, id_feature_value) if both are known, else None. Features the shop cannot show
        (empty name or value after its rules) are None too: see `wanted_features`."""
        name, value = feature_key(feature)
        fid = self.features.get(name)
        if fid is None:
            return None
        vid = self.values.get(ValueKey(fid, value))
        return (fid, vid) if vid is not None else None

    def pairs(self, features: Iterable[FeatureSpec]) -> list[tuple[int, int]]:
        """The known pairs of a product's features, in `position` order, each once."""
        out: list[tuple[int, int]] = []
        for feature in wanted_features(features):
            pair = self.pair(feature)
            if pair is not None and pair not in out:
                out.append(pair)
        return out

    def missing(self, *, manufacturers: Iterable[str] = (), features: Iterable[FeatureSpec] = ()) -> bool:
        """True if resolving these would cost a call."""
        if any(manufacturer_key(n) and manufacturer_key(n) not in self.manufacturers for n in manufacturers):
            return True
        return any(self.pair(f) is None for f in wanted_features(features))

    def update(self, other: ShopIds) -> None:
        self.manufacturers.update(other.manufacturers)
        self.features.update(other.features)
        self.values.update(other.values)


def wanted_features(features: Iterable[FeatureSpec]) -> list[FeatureSpec]:
    """The features the shop can show (a name and a value left after its character rules), by position."""
    return [f for f in sorted(features, key=lambda f: f.position) if all(feature_key(f))]


def resolve(
    client: PrestaShopClient,
    known: ShopIds,
    *,
    manufacturers: Iterable[str] = (),
    features: Iterable[FeatureSpec] = (),
    languages: list[int] | None = None,
) -> ShopIds:
    """Find or create in the shop every manufacturer and feature value not in `known`. Returns only the new
    ids (the caller persists them and merges them into `known`). Names of manufacturers and features are
    compared case-insensitively with the shop's, values exactly. `languages` is needed only to create a
    feature or value (the multilang name is sent in every language)."""
    new = ShopIds()

    names: dict[str, str] = {}
    for raw in manufacturers:
        clean = mapping.manufacturer_name(raw or "")
        if clean and clean.casefold() not in known.manufacturers:
            names.setdefault(clean.casefold(), clean)
    if names:
        found = client.find_manufacturers(list(names.values()))
        for key, clean in names.items():
            mid = found.get(key)
            new.manufacturers[key] = mid if mid is not None else client.create_manufacturer(clean)

    wanted = [feature_key(f) for f in wanted_features(features)]
    feature_ids = dict(known.features)
    missing_names = list(dict.fromkeys(n for n, _ in wanted if n not in feature_ids))
    created: set[int] = set()
    if missing_names:
        listed = client.all_features()  # casefolded → id
        for name in missing_names:
            fid = listed.get(name.casefold())
            if fid is None:
                fid = client.create_feature(name, _need(languages))
                created.add(fid)
            new.features[name] = feature_ids[name] = fid

    todo = list(dict.fromkeys(ValueKey(feature_ids[n], v) for n, v in wanted))
    todo = [k for k in todo if k not in known.values]
    lookup = [(k.feature_id, k.value) for k in todo if k.feature_id not in created]  # new features have no values
    found_values = client.find_feature_values(lookup) if lookup else {}
    for key in todo:
        vid = found_values.get((key.feature_id, key.value))
        if vid is None:
            vid = client.create_feature_value(key.feature_id, key.value, _need(languages))
        new.values[key] = vid
    return new


def _need(languages: list[int] | None) -> list[int]:
    if not languages:
        raise ValueError("the shop's languages are needed to create a feature or a value")
    return languages
