"""What the service hands the PrestaShop connector, and what it gets back.

Plain data, no Django models: the connector never imports a model. The service builds a
`ProductSpec` from the local product, passes the `state` it stored after the previous push
(opaque JSON owned by the connector), and stores the `state` of the `PushResult` it gets back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from connectors.http import RemoteError
from connectors.prestashop.state import ShopState


@dataclass(frozen=True)
class ImageSpec:
    """One ERP image. The bytes are read only when the image is uploaded: give `content`, or a `loader`."""

    sha256: str  # hash of the bytes the ERP sent (change detection key)
    file_name: str
    content: bytes | None = field(default=None, repr=False)
    loader: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)

    def read(self) -> bytes:
        if self.content is not None:
            return self.content
        if self.loader is None:
            raise ValueError(f"image {self.file_name!r} has neither content nor a loader")
        return self.loader()


@dataclass(frozen=True)
class FeatureSpec:
    """One technical datum as the shop shows it: feature `name`, value text `value`."""

    name: str
    value: str
    position: int  # order among the product's features (PrintOrder, then ERP order)


@dataclass(frozen=True)
class ProductSpec:
    reference: str
    name: str  # the ERP's full name; the connector adapts it to the shop's limits
    description: str
    price: Decimal
    quantity: int
    active: bool
    category_ids: list[int]  # first = default; empty → the configured default category only
    ean13: str
    weight: Decimal | None
    manufacturer_id: int | None  # resolved beforehand (connectors.prestashop.resolve)
    images: list[ImageSpec] = field(default_factory=list)
    # feature values resolved beforehand (connectors.prestashop.resolve): (id_feature, id_feature_value) in order
    feature_values: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ImageError:
    index: int
    file_name: str
    message: str
    retryable: bool = False  # the shop failed (5xx, timeout) rather than refused the image: try again later


@dataclass
class PushResult:
    presta_id: int
    state: ShopState  # store `state.to_json()` and pass it back on the next push
    warnings: list[str] = field(default_factory=list)
    images_processed: int = 0  # images that reached the shop in this push (uploaded, or already there)
    features_processed: int = 0  # feature links that reached the shop (set, or already there)
    image_errors: list[ImageError] = field(default_factory=list)
    calls: int = 0  # Webservice calls made by this push
    changed: bool = False  # False when nothing had to be written
    adopted: bool = False  # an existing shop product with the same reference was taken over


class PushFailed(Exception):
    """A push the shop stopped part way. `state` is how far it got (None: nothing in the shop yet): store it,
    and the next push resumes there instead of adopting the product by reference."""

    def __init__(self, error: RemoteError, state: ShopState | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.state = state
