from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from taller.accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "roles", "is_active")
    list_filter = ("groups", "is_active", "is_staff")

    @admin.display(description="roles")
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all())
