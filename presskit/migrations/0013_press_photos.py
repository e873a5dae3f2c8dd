"""Several press photos per presskit, each with a credit and an order: the draft's one photo
becomes its first PressPhoto (a copy still waiting in the queue finds it by its staged name),
a version's photo becomes its list of one, and a version remembers the draft rider PDF it
was published from."""
import uuid

import django.db.models.deletion
from django.core.files.storage import storages
from django.db import migrations, models

VARIANT_WIDTHS = (480, 960, 1600)  # presskit.photos.VARIANT_WIDTHS when this was written


def _widths_stored(name: str) -> list[int]:
    storage = storages["photos"]
    stem = name.rsplit(".", 1)[0]
    try:
        return [width for width in VARIANT_WIDTHS if storage.exists(f"{stem}-w{width}.jpg")]
    except Exception:  # noqa: BLE001 - a storage away: shown without resized copies, never lost
        return []


def photos_forward(apps, schema_editor):
    Presskit = apps.get_model("presskit", "Presskit")
    PressPhoto = apps.get_model("presskit", "PressPhoto")
    PresskitVersion = apps.get_model("presskit", "PresskitVersion")
    for presskit in Presskit.objects.exclude(photo_name="", photo_staged="").iterator():
        # A stored photo and a newer upload still waiting: one photo showing the stored one until
        # the copy of the newer is recorded (which then replaces it, presskit.photos.photo_record).
        name = presskit.photo_name
        PressPhoto.objects.create(presskit=presskit, name=name, staged=presskit.photo_staged,
                                  widths=_widths_stored(name) if name else [])
    for version in PresskitVersion.objects.exclude(photo_name="").iterator():
        version.photo_names = [version.photo_name]
        version.save(update_fields=["photo_names"])
    # The rider a version was published from is not known: taken to be the draft's today (a rider
    # replaced before this migration is not seen as a change).
    for version in PresskitVersion.objects.select_related("presskit").iterator():
        if (version.document.get("rider") or {}).get("pdf"):
            version.rider_source = version.presskit.rider_pdf_name
            version.save(update_fields=["rider_source"])


def photos_backward(apps, schema_editor):
    Presskit = apps.get_model("presskit", "Presskit")
    PressPhoto = apps.get_model("presskit", "PressPhoto")
    PresskitVersion = apps.get_model("presskit", "PresskitVersion")
    for photo in PressPhoto.objects.order_by("presskit", "-position", "-created_at").iterator():
        Presskit.objects.filter(pk=photo.presskit_id).update(photo_name=photo.name, photo_staged=photo.staged)
    for version in PresskitVersion.objects.exclude(photo_names=[]).iterator():
        version.photo_name = version.photo_names[0]
        version.save(update_fields=["photo_name"])


class Migration(migrations.Migration):

    dependencies = [
        ("presskit", "0012_dailycount_zip"),
    ]

    operations = [
        migrations.CreateModel(
            name="PressPhoto",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("position", models.PositiveIntegerField(default=0)),
                ("credit", models.CharField(blank=True, max_length=120)),
                ("name", models.CharField(blank=True, max_length=255)),
                ("staged", models.CharField(blank=True, max_length=255)),
                ("widths", models.JSONField(blank=True, default=list)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("presskit", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="photos",
                                               to="presskit.presskit")),
            ],
            options={"ordering": ["position", "created_at"]},
        ),
        migrations.AddField(
            model_name="presskitversion",
            name="photo_names",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="presskitversion",
            name="rider_source",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.RunPython(photos_forward, photos_backward),
        migrations.RemoveField(model_name="presskit", name="photo_name"),
        migrations.RemoveField(model_name="presskit", name="photo_staged"),
        migrations.RemoveField(model_name="presskitversion", name="photo_name"),
    ]
