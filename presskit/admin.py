from django.contrib import admin

from presskit.models import Presskit


@admin.register(Presskit)
class PresskitAdmin(admin.ModelAdmin):
    list_display = ("__str__", "booking_email", "updated_at")
    search_fields = ("artist_name", "booking_email")
    readonly_fields = ("id", "created_at", "updated_at")
