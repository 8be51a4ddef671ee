"""Shared admin building blocks."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Records (jobs, attempts, deliveries, batches): staff read them, nobody adds, edits or deletes them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
