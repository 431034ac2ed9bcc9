"""What every staff admin page of the portal shares."""


class ReadOnlyAdminMixin:
    """Staff read these records; every change goes through one audited service with its own
    permission check (an admin action view), never through a model form, add or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
