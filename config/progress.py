"""Progress of the long management commands (`import_products`, `resync --all`, `productsup_export --full`).

On a terminal: a tqdm progress bar on the command's stderr. Otherwise (cron, CI, a container's log): a log
line each time another `every` items are done, so the lines are JSON like every other with
`LOG_FORMAT=json`, and a final line when it ends.
"""

from __future__ import annotations

import logging
from typing import TextIO

from tqdm import tqdm

logger = logging.getLogger("products_sync.progress")


class Progress:
    def __init__(
        self, *, what: str, total: int | None, stream: TextIO, unit: str = "products", every: int = 1000
    ) -> None:
        self.what = what
        self.total = total
        self.unit = unit
        self.every = max(1, every)
        self.done = 0
        self._logged = 0
        isatty = getattr(stream, "isatty", None)
        self.bar = (
            tqdm(total=total, desc=what, unit=f" {unit}", file=stream, dynamic_ncols=True)
            if (isatty and isatty())
            else None
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, count: int = 1) -> None:
        self.advance_to(self.done + count)

    def advance_to(self, done: int) -> None:
        step = done - self.done
        if step <= 0:
            return
        self.done = done
        if self.bar is not None:
            self.bar.update(step)
        elif done // self.every > self._logged // self.every:
            self._logged = done
            self._log()

    def _log(self) -> None:
        if self.total:
            logger.info(
                "%s: %d/%d %s (%d%%)", self.what, self.done, self.total, self.unit, 100 * self.done // self.total
            )
        else:
            logger.info("%s: %d %s", self.what, self.done, self.unit)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.done != self._logged:
            self._logged = self.done
            self._log()
