from django.contrib import admin

from presskit.models import Integration, Presskit


@admin.register(Presskit)
class PresskitAdmin(admin.ModelAdmin):
    list_display = ("__str__", "booking_email", "updated_at")
    search_fields = ("artist_name", "booking_email")
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "label", "url", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "label", "url")
    readonly_fields = ("created_at", "updated_at")
