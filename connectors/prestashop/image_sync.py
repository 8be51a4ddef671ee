"""A product's images in the shop: delete the removed ones, upload the new ones in order, fix the cover.

Unchanged images are never uploaded again (they are tracked by the hash of the bytes the ERP sent), and an
image's bytes are read only when it is uploaded. Images must fit the shop's upload limit: they are
re-encoded (Pillow) to the service's maximum before upload, and when the shop still answers code 72 with its
own maximum ("The image size is too large (maximum allowed is 2000 KB)"), that maximum is remembered for the
shop and the image is re-encoded to fit it and uploaded again at once. The ERP's image is kept as received.
A refused image is reported in `image_errors`; the product push still succeeds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from connectors.http import RemoteError, RemoteRejected
from connectors.prestashop.client import PrestaShopClient
from connectors.prestashop.facts import ShopFacts
from connectors.prestashop.images import ImageTooLarge, PreparedImage, prepare_image
from connectors.prestashop.state import ShopState, TrackedImage
from connectors.prestashop.types import ImageError, ImageSpec, ProductSpec

logger = logging.getLogger("connectors.prestashop")

TOO_LARGE_CODE = 72
_MAX_KB = re.compile(r"maximum allowed is (\d+) KB")


def wanted_images(spec: ProductSpec) -> list[tuple[int, ImageSpec]]:
    """(index in the spec, image) of each distinct image, in order."""
    seen: set[str] = set()
    out = []
    for index, image in enumerate(spec.images):
        if image.sha256 not in seen:
            seen.add(image.sha256)
            out.append((index, image))
    return out


def images_changed(spec: ProductSpec, st: ShopState) -> bool:
    """True if the spec's images differ from what the state says the shop has (no call)."""
    refused = st.images_refused
    wanted = [img.sha256 for _, img in wanted_images(spec) if img.sha256 not in refused]
    if wanted != [t.sha256 for t in st.images]:
        return True
    if set(refused) - {img.sha256 for img in spec.images}:
        return True  # forget refusals of images no longer wanted
    return bool(st.images) and st.cover != st.images[0].id


def refused_errors(spec: ProductSpec, st: ShopState) -> list[ImageError]:
    return [
        ImageError(index=i, file_name=img.file_name, message=st.images_refused[img.sha256])
        for i, img in wanted_images(spec)
        if img.sha256 in st.images_refused
    ]


def shop_max_bytes(exc: RemoteRejected) -> int | None:
    """The maximum the shop states in a code 72 refusal, in bytes (PHP divides by 1000 for "KB")."""
    for item in exc.details:
        if item.get("code") == TOO_LARGE_CODE:
            match = _MAX_KB.search(str(item.get("message") or ""))
            if match:
                return int(match.group(1)) * 1000
    return None


@dataclass
class ImageSync:
    client: PrestaShopClient
    facts: ShopFacts
    max_bytes: int
    max_pixels: int

    def sync(
        self,
        presta_id: int,
        spec: ProductSpec,
        st: ShopState,
        *,
        force: bool,
        shop_cover: int | None,
        warnings: list[str],
        image_errors: list[ImageError],
    ) -> None:
        client = self.client
        tracked = list(st.images)
        cover = shop_cover
        cover_known = True
        if st.images_dirty:
            shop_ids = client.product_images(presta_id)
            tracked = [t for t in tracked if t.id in shop_ids]
            keep = {t.id for t in tracked}
            for image_id in shop_ids:
                if image_id not in keep:
                    client.delete_image(presta_id, image_id)
            if not tracked:
                cover = None  # no image left: the next upload becomes the cover
            elif cover not in keep:
                cover_known = False
        wanted = wanted_images(spec)
        wanted_shas = {img.sha256 for _, img in wanted}
        refused = {} if force else {sha: msg for sha, msg in st.images_refused.items() if sha in wanted_shas}

        for t in [t for t in tracked if t.sha256 not in wanted_shas]:
            client.delete_image(presta_id, t.id)
            tracked.remove(t)
            if t.id == cover:
                cover = None  # the shop does not elect a new cover
        if not tracked:
            cover = None
        by_sha = {t.sha256: t.id for t in tracked}
        st.images = tracked  # progress so far (an exception keeps it consistent)
        st.cover = cover if cover_known else None

        result: list[TrackedImage] = []
        failed_upload = False
        for index, image in wanted:
            if image.sha256 in by_sha:
                result.append(TrackedImage(image.sha256, by_sha[image.sha256]))
                continue
            if image.sha256 in refused:
                image_errors.append(ImageError(index=index, file_name=image.file_name, message=refused[image.sha256]))
                continue
            try:
                row, note = self._upload(presta_id, image)
            except ImageTooLarge as exc:
                refused[image.sha256] = str(exc)
                image_errors.append(ImageError(index=index, file_name=image.file_name, message=str(exc)))
                continue
            except RemoteError as exc:
                failed_upload = True
                if isinstance(exc, RemoteRejected):
                    refused[image.sha256] = exc.message
                image_errors.append(
                    ImageError(index=index, file_name=image.file_name, message=exc.message, retryable=exc.retryable)
                )
                continue
            if note:
                warnings.append(note)
            image_id = int(row["id"])
            # The shop makes an upload the cover when the product has none; its answer says so too.
            is_cover = str(row["cover"]) == "1" if "cover" in row else (cover is None and cover_known)
            if is_cover:
                cover, cover_known = image_id, True
            result.append(TrackedImage(image.sha256, image_id))

        st.images = result
        st.images_refused = refused
        st.images_dirty = False
        if failed_upload:
            # The shop creates the image row before it validates the bytes: remove what a refusal left.
            try:
                keep = {r.id for r in result}
                for image_id in client.product_images(presta_id):
                    if image_id not in keep:
                        client.delete_image(presta_id, image_id)
            except RemoteError as exc:
                logger.warning("prestashop: could not clean up images of product %s: %s", presta_id, exc)
                st.images_dirty = True
        desired = result[0].id if result else None
        if desired is not None and (desired != cover or not cover_known):
            client.patch_product(presta_id, {"id_default_image": desired})
            cover = desired
        st.cover = cover if result else None

    def _prepare(self, image: ImageSpec, content: bytes, max_bytes: int) -> PreparedImage:
        return prepare_image(content, image.file_name, max_bytes=max_bytes, max_pixels=self.max_pixels)

    def _upload(self, presta_id: int, image: ImageSpec) -> tuple[dict[Any, Any], str | None]:
        """Upload one image (its bytes read now); on code 72, fit the shop's stated maximum and retry once."""
        content = image.read()
        max_bytes = self.facts.image_max_bytes(self.max_bytes)
        prepared = self._prepare(image, content, max_bytes)
        try:
            row = self.client.upload_image(presta_id, prepared.content, prepared.file_name, prepared.content_type)
        except RemoteRejected as exc:
            limit = shop_max_bytes(exc)
            if limit is None or len(prepared.content) <= limit:
                raise
            logger.info("prestashop: the shop accepts images up to %d bytes; re-encoding %r", limit, image.file_name)
            self.facts.remember_image_max_bytes(limit)
            # The shop checks the size before it creates the image row: nothing to clean up.
            prepared = self._prepare(image, content, limit)
            row = self.client.upload_image(presta_id, prepared.content, prepared.file_name, prepared.content_type)
            note = prepared.note or f"image {image.file_name!r} re-encoded for PrestaShop"
            return row, f"{note} (the shop accepts at most {limit} bytes)"
        return row, prepared.note
