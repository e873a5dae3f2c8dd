from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy, ngettext

from presskit.models import DailyCount, Integration, Presskit, PresskitVersion, PressPhoto
from presskit.photos import photo_thumbnail_url
from presskit.services import presskit_restore, presskit_take_down
from presskit.signals import presskit_changed_send
from presskit.webhooks import secret_generate, secret_seal

# The admin's brand, instead of Django's own ("Administración de Django").
admin.site.site_header = admin.site.site_title = gettext_lazy("ÍTERA PressKit · Administration")
admin.site.index_title = gettext_lazy("Staff panel")


class PublishedFilter(admin.SimpleListFilter):
    title = gettext_lazy("publication")
    parameter_name = "published"

    def lookups(self, request, model_admin):
        return [("yes", gettext("Public")), ("no", gettext("Not public")), ("down", gettext("Taken down"))]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        match self.value():
            case "yes":
                return queryset.filter(published_version__isnull=False)
            case "no":
                return queryset.filter(published_version__isnull=True, taken_down_at__isnull=True)
            case "down":
                return queryset.filter(taken_down_at__isnull=False)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    """Rows staff read beside the presskit, never add nor delete here."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class VersionInline(ReadOnlyInline):
    model = PresskitVersion
    fields = ("number", "published_at", "pdf_name")
    readonly_fields = fields


class PressPhotoInline(ReadOnlyInline):
    """The draft's photos as the artist ordered them (changed in the chat's panel only: a photo
    taken out here would leave its files behind). A page with an abusive photo is taken down."""

    model = PressPhoto
    fields = ("position", "preview", "credit", "name", "staged", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("photo"))
    def preview(self, photo: PressPhoto) -> str:
        if not photo.name:
            return gettext("waiting for the photo storage")
        return format_html('<a href="{}"><img src="{}" alt="" style="max-height: 80px"></a>',
                           photo.url, photo_thumbnail_url(photo))


class TakedownForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("Why (kept with the presskit and in the admin log; not shown "
                                                    "to bookers)."))


@admin.register(Presskit)
class PresskitAdmin(admin.ModelAdmin):
    list_display = ("__str__", "public_link", "public_version", "taken_down_at", "booking_email", "updated_at")
    list_filter = (PublishedFilter,)
    search_fields = ("artist_name", "booking_email", "slug")
    readonly_fields = ("id", "slug", "published_version", "taken_down_at", "takedown_reason", "created_at",
                       "updated_at")
    inlines = [PressPhotoInline, VersionInline]
    actions = ["take_down", "restore"]

    @admin.display(description=gettext_lazy("public page"))
    def public_link(self, presskit: Presskit) -> str:
        if not presskit.published_version_id:
            return "—"
        url = reverse("public_page", args=[presskit.slug])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description=gettext_lazy("public version"))
    def public_version(self, presskit: Presskit) -> str:
        return f"v{presskit.published_version.number}" if presskit.published_version_id else "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("published_version")

    @admin.action(description=gettext_lazy("Take down the public page (abuse), with a reason"),
                  permissions=["change"])
    def take_down(self, request: HttpRequest, queryset: QuerySet):
        form = TakedownForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(request, "admin/presskit/takedown.html", {
                **self.admin_site.each_context(request), "title": gettext("Take down public pages"), "form": form,
                "presskits": queryset, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "opts": self.opts,
            })
        reason = form.cleaned_data["reason"]
        for presskit in queryset:
            presskit_take_down(presskit_id=str(presskit.pk), reason=reason)
            self.log_change(request, presskit, f"Taken down: {reason}")
            presskit_changed_send(presskit_id=str(presskit.pk))  # the artist's open pages say so
        count = queryset.count()
        self.message_user(request, ngettext("%(count)d page taken down.", "%(count)d pages taken down.", count)
                          % {"count": count}, messages.SUCCESS)
        return None

    @admin.action(description=gettext_lazy("Restore after a takedown (the artist may publish again)"),
                  permissions=["change"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        for presskit in queryset.filter(taken_down_at__isnull=False):
            presskit_restore(presskit_id=str(presskit.pk))
            self.log_change(request, presskit, "Takedown lifted")
            presskit_changed_send(presskit_id=str(presskit.pk))
        self.message_user(request, gettext("Takedown lifted: the artists may publish again."), messages.SUCCESS)


class IntegrationForm(forms.ModelForm):
    """The secret is write-only: typed (or generated) here, sealed, never shown back."""

    new_secret = forms.CharField(
        label=gettext_lazy("New secret"), required=False, strip=True, max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Signs each delivery (README, “Receiving webhooks”). Leave empty to keep the "
                               "current one; the “Rotate secret” action generates one and shows it once."))
    remove_secret = forms.BooleanField(label=gettext_lazy("Remove the secret (send unsigned)"), required=False)
    url = forms.URLField(assume_scheme="https", max_length=200, help_text=Integration._meta.get_field("url").help_text)

    class Meta:
        model = Integration
        fields = ("name", "label", "url", "enabled")

    def save(self, commit: bool = True) -> Integration:
        integration = super().save(commit=False)
        if self.cleaned_data["remove_secret"]:
            integration.secret_sealed = ""
        elif self.cleaned_data["new_secret"]:
            integration.secret_sealed = secret_seal(self.cleaned_data["new_secret"])
        if commit:
            integration.save()
        return integration


@admin.register(DailyCount)
class DailyCountAdmin(admin.ModelAdmin):
    """The public pages' numbers per version and day (presskit.stats): read-only, as counted."""

    list_display = ("day", "version", "event", "count")
    list_filter = ("event", "day")
    search_fields = ("version__presskit__artist_name", "version__presskit__slug")
    list_select_related = ("version__presskit",)
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DailyCount | None = None) -> bool:
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationForm
    list_display = ("name", "label", "url", "enabled", "signed", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "label", "url")
    readonly_fields = ("signed", "created_at", "updated_at")
    actions = ("rotate_secret",)

    @admin.display(boolean=True, description=gettext_lazy("signed"))
    def signed(self, integration: Integration) -> bool:
        return bool(integration.secret_sealed)

    @admin.action(description=gettext_lazy("Rotate secret (the new one is shown once)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for integration in queryset:
            secret = secret_generate()
            integration.secret_sealed = secret_seal(secret)
            integration.save(update_fields=["secret_sealed", "updated_at"])
            self.log_change(request, integration, "Secret rotated")
            # Shown this once: give it to the receiver now; it is not readable again.
            self.message_user(request, format_html(gettext("{}: new secret <code>{}</code> — copy it to the "
                                                           "receiver now, it will not be shown again."),
                                                   integration.name, secret),
                              messages.WARNING)
