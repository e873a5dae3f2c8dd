"""Chats for staff: where each artist is, and the transcript (read-only: it is the artist's)."""
from django.contrib import admin

from chat.models import ChatMessage, ChatSession


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    fields = ("created_at", "role", "step", "text", "provider", "fallback_used")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChatSession)
class ChatSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "presskit", "language", "current_step", "editing_step", "updated_at")
    list_filter = ("language", "current_step")
    search_fields = ("id", "presskit__artist_name")
    readonly_fields = ("id", "presskit", "language", "current_step", "editing_step", "created_at", "updated_at")
    inlines = [ChatMessageInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "session", "role", "step", "provider", "fallback_used", "created_at")
    list_filter = ("role", "provider", "fallback_used")
    readonly_fields = ("session", "role", "step", "text", "provider", "fallback_used", "created_at")

    def has_add_permission(self, request) -> bool:
        return False
