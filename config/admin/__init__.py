"""The back-office's own building blocks, shared by every app's admin.

- `permissions`: the one permission model (view = look, change = operate) and the read-only records mixin.
- `actions`: object buttons (django-object-actions) that declare and enforce their permission.
- `display`: badges, durations, thumbnails, JSON, change links — rendered from templates, styled by one
  stylesheet (`products_sync/admin.css`, loaded through `Media`).
- `site`: site title, app names, the schedules admin with permissions, Celery's result tables hidden.

Django's admin autodiscovery imports this package (the `config` app), which registers `site`.
"""

from . import site  # noqa: F401 - registers the schedules admin and hides Celery's result tables
