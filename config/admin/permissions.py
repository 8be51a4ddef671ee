"""One permission model for the whole back-office.

- To **look** at a kind of record (jobs, products, resyncs, batches, deliveries, schedules) staff need its
  `view_<model>` permission.
- To **operate** on it — anything that writes or calls a remote system: retry a job, sync a product,
  start a resync, discard a batch or trigger a Productsup process, edit, enable or run a schedule — they
  need its `change_<model>` permission. Records are never edited by hand whatever the permission says:
  `change` on a record means "may act on it".

`manage.py setup_staff_groups` hands out exactly this: "Sync viewers" get `view_*`, "Sync operators"
`view_*` and `change_*` (plus add/delete on schedules). Every action and button declares `operate`
(or `change`) and is refused with 403 for anyone without it, whatever URL or form was posted.
"""

from __future__ import annotations

from django.contrib.auth import get_permission_codename


def operate_permission(model) -> str:
    opts = model._meta
    return f"{opts.app_label}.{get_permission_codename('change', opts)}"


def can_operate(user, model) -> bool:
    """May `user` act on records of `model` (retry, sync, start, discard, trigger...)?"""
    return bool(user and user.is_active and user.is_staff and user.has_perm(operate_permission(model)))


class OperateMixin:
    """`permissions=["operate"]` on an action or object button: the model's change permission."""

    def has_operate_permission(self, request, obj=None) -> bool:
        return can_operate(request.user, self.model)


class ReadOnlyAdminMixin(OperateMixin):
    """Records (jobs, attempts, deliveries, batches): staff read them, nobody adds, edits or deletes them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
