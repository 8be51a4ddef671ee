"""Generated ERP exports (NDJSON) for the import: the sample in docs/samples/ and the 100,000-product bench.

    .venv/bin/python -m bench.erp_export docs/samples/erp-export.ndjson --count 300

Deterministic (seeded): the same arguments write the same bytes. Every product has a brand, categories
of the sandbox shop (2 = Home, 3–12), technical data, and small generated images (JPEG and PNG, each
unique) so the import stores and pushes real image bytes.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

BRANDS = ["CoffeePro", "Brewmaster", "Kitchenly", "Voltix", "Casa Nova", "Thermo Italia", "Aqualine", "Forno"]
KINDS = ["Espresso machine", "Grinder", "Kettle", "Toaster", "Blender", "Microwave oven", "Induction hob", "Fridge"]
FEATURES = [
    ("Dati tecnici", "Potenza", ["900", "1200", "1500", "2000"], "W"),
    ("Dati tecnici", "Tensione", ["220", "230", "240"], "V"),
    ("Dimensioni", "Larghezza", ["20", "30", "45", "60"], "cm"),
    ("Dimensioni", "Altezza", ["25", "35", "85"], "cm"),
    ("Generale", "Colore", ["Nero", "Bianco", "Inox", "Rosso"], ""),
    ("Generale", "Garanzia", ["2", "3", "5"], "anni"),
]


def _image(rng: random.Random, fmt: str, size: int) -> str:
    colour = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", (size, size), colour)
    for _ in range(4):  # a few blocks so the bytes differ and compress like a photo would not
        x, y = rng.randrange(size), rng.randrange(size)
        image.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, min(size, x + 6), min(size, y + 6)))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=80) if fmt == "JPEG" else image.save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


def products(count: int, *, seed: int = 11, images: int = 2, image_px: int = 48, prefix: str = "ERP") -> Iterator[dict]:
    rng = random.Random(seed)
    for n in range(1, count + 1):
        kind = rng.choice(KINDS)
        brand = rng.choice(BRANDS)
        features = rng.sample(FEATURES, k=rng.randint(2, len(FEATURES)))
        product = {
            "operation": "create",
            "reference": f"{prefix}{n:06d}",
            "name": f"{brand} {kind} {n}",
            "description": f"{kind} by {brand}. Generated sample product number {n}.",
            "price": round(rng.uniform(9, 2500), 2),
            "quantity": rng.randint(0, 500),
            "active": rng.random() > 0.05,
            "categories": [2, *rng.sample(range(3, 13), k=rng.randint(1, 2))],
            "ean13": f"{rng.randrange(10**12, 10**13)}",
            "weight": round(rng.uniform(0.2, 40), 3),
            "brand": {"name": brand},
            "technical_data": [
                {
                    "Gruppo": group,
                    "Descrizione": name,
                    "Valore": rng.choice(values),
                    "Suffisso": suffix,
                    "PrintOrder": order,
                }
                for order, (group, name, values, suffix) in enumerate(features, start=1)
            ],
            "images": [
                {"fileName": f"{prefix.lower()}{n:06d}-{i + 1}.{ext}", "base64": _image(rng, fmt, image_px)}
                for i, (fmt, ext) in enumerate([("JPEG", "jpg"), ("PNG", "png")][:images])
            ],
        }
        ean = product["ean13"][:12]
        checksum = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(ean)) % 10) % 10
        product["ean13"] = ean + str(checksum)
        yield product


def write_export(path: Path, count: int, **options) -> int:
    with path.open("w", encoding="utf-8") as f:
        for product in products(count, **options):
            f.write(json.dumps(product, separators=(",", ":")) + "\n")
    return path.stat().st_size


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    size = write_export(args.path, args.count, images=args.images, seed=args.seed)
    print(f"{args.path}: {args.count} products, {size / 1e6:.1f} MB")
