"""Object buttons (django-object-actions): POST forms with a CSRF token, each declaring its permission.

django-object-actions routes `<pk>/actions/<name>/` and `actions/<name>/` to the methods listed in
`change_actions` / `changelist_actions`, but only checks that the user is staff. Here every button
declares its permissions (like a Django admin action); a button is shown only to staff who hold them, and
the view refuses everyone else with 403 — also when the URL is posted by hand.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django_object_actions import DjangoObjectActions
from django_object_actions import action as _object_action

from .display import ADMIN_MEDIA


def object_action(*, label: str, description: str = "", permissions=("operate",), css_class: str = ""):
    """A button on a change page (`fn(self, request, obj)`) or a list page (`fn(self, request, queryset)`)."""

    def decorator(func):
        @wraps(func)
        def wrapper(self, request, target):
            if not self.has_object_action_permission(request, wrapper):
                raise PermissionDenied
            return func(self, request, target)

        return _object_action(
            wrapper,
            permissions=list(permissions),
            label=label,
            description=description,
            attrs={"class": f"ps-tool {css_class}".strip()},
            methods=("POST",),
            button_type="form",
        )

    return decorator


class ObjectActionsAdminMixin(DjangoObjectActions):
    """Shows each button only to staff with its permissions; `offered_change_actions` can hide it per object."""

    Media = ADMIN_MEDIA

    def has_object_action_permission(self, request, tool) -> bool:
        return all(
            getattr(self, f"has_{name}_permission")(request) for name in getattr(tool, "allowed_permissions", ())
        )

    def offered_change_actions(self, request, obj) -> list[str]:
        """Override to hide a button that cannot help this object (e.g. retry on a completed job)."""
        return list(self.change_actions)

    def get_change_actions(self, request, object_id, form_url):
        obj = self.get_object(request, object_id)
        if obj is None:
            return []
        return [
            name
            for name in self.offered_change_actions(request, obj)
            if self.has_object_action_permission(request, getattr(self, name))
        ]

    def get_changelist_actions(self, request):
        return [
            name for name in self.changelist_actions if self.has_object_action_permission(request, getattr(self, name))
        ]
