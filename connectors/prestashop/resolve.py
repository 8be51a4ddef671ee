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

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from connectors.prestashop import mapping
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.types import FeatureSpec

T = TypeVar("T")
R = TypeVar("R")


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


class ResolveFailed(Exception):
    """Resolution stopped on a shop error. `resolved` holds what was found or created before it: persist it
    (it exists in the shop now), then handle `error`."""

    def __init__(self, error: Exception, resolved: ShopIds) -> None:
        super().__init__(str(error))
        self.error = error
        self.resolved = resolved


def _each(pool: Executor | None, fn: Callable[[T], R], items: list[T]) -> tuple[list[tuple[T, R]], Exception | None]:
    """fn over items (concurrently on `pool`): the results that succeeded, and the first error if any."""
    done: list[tuple[T, R]] = []
    error: Exception | None = None
    if pool is None or len(items) <= 1:
        for item in items:
            try:
                done.append((item, fn(item)))
            except Exception as exc:  # noqa: BLE001 - handed to the caller with what succeeded
                error = error or exc
        return done, error
    futures = {pool.submit(fn, item): item for item in items}
    for future, item in futures.items():
        try:
            done.append((item, future.result()))
        except Exception as exc:  # noqa: BLE001 - handed to the caller with what succeeded
            error = error or exc
    return done, error


def resolve(
    client: PrestaShopClient,
    known: ShopIds,
    *,
    manufacturers: Iterable[str] = (),
    features: Iterable[FeatureSpec] = (),
    languages: list[int] | None = None,
    pool: Executor | None = None,
) -> ShopIds:
    """Find or create in the shop every manufacturer and feature value not in `known`. Returns only the new
    ids (the caller persists them and merges them into `known`). Names of manufacturers and features are
    compared case-insensitively with the shop's, values exactly. `languages` is needed only to create a
    feature or value (the multilang name is sent in every language). With a `pool`, independent calls run
    concurrently: the two listings, then the creations (each thing still created once).

    Raises `ResolveFailed` (with what was resolved before the error) when a call fails."""
    new = ShopIds()

    names: dict[str, str] = {}
    for raw in manufacturers:
        clean = mapping.manufacturer_name(raw or "")
        if clean and clean.casefold() not in known.manufacturers:
            names.setdefault(clean.casefold(), clean)
    wanted = [feature_key(f) for f in wanted_features(features)]
    feature_ids = dict(known.features)
    missing_names = list(dict.fromkeys(n for n, _ in wanted if n not in feature_ids))

    listings: list[str] = (["manufacturers"] if names else []) + (["features"] if missing_names else [])

    def listing(what: str) -> dict[Any, Any]:
        return client.find_manufacturers(list(names.values())) if what == "manufacturers" else client.all_features()

    listed, error = _each(pool, listing, listings)
    if error is not None:
        raise ResolveFailed(error, new)
    found = dict(listed)
    found_makers, found_features = found.get("manufacturers", {}), found.get("features", {})

    # Creations of manufacturers and features are independent of each other.
    creations: list[tuple[str, str]] = [("manufacturer", k) for k in names if k not in found_makers]
    creations += [("feature", n) for n in missing_names if n.casefold() not in found_features]

    def create(item: tuple[str, str]) -> int:
        kind, key = item
        if kind == "manufacturer":
            return client.create_manufacturer(names[key])
        return client.create_feature(key, _need(languages))

    created_rows, error = _each(pool, create, creations)
    created_ids = {item: rid for item, rid in created_rows}
    for key in names:
        mid = found_makers.get(key) or created_ids.get(("manufacturer", key))
        if mid is not None:
            new.manufacturers[key] = mid
    created: set[int] = set()
    for name in missing_names:
        fid = found_features.get(name.casefold())
        if fid is None and ("feature", name) in created_ids:
            fid = created_ids[("feature", name)]
            created.add(fid)
        if fid is not None:
            new.features[name] = feature_ids[name] = fid
    if error is not None:
        raise ResolveFailed(error, new)

    todo = list(dict.fromkeys(ValueKey(feature_ids[n], v) for n, v in wanted))
    todo = [k for k in todo if k not in known.values]
    lookup = [(k.feature_id, k.value) for k in todo if k.feature_id not in created]  # new features have no values
    try:
        found_values = client.find_feature_values(lookup) if lookup else {}
    except Exception as exc:
        raise ResolveFailed(exc, new) from exc
    for value_key in todo:
        vid = found_values.get((value_key.feature_id, value_key.value))
        if vid is not None:
            new.values[value_key] = vid
    missing_values = [k for k in todo if k not in new.values]
    made, error = _each(
        pool, lambda k: client.create_feature_value(k.feature_id, k.value, _need(languages)), missing_values
    )
    for value_key, vid in made:
        new.values[value_key] = vid
    if error is not None:
        raise ResolveFailed(error, new)
    return new


def _need(languages: list[int] | None) -> list[int]:
    if not languages:
        raise ValueError("the shop's languages are needed to create a feature or a value")
    return languages
