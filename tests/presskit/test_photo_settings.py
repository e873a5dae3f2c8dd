"""The photo settings are present and effective, and operators can point them elsewhere."""
from __future__ import annotations

import json
import subprocess
import sys

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

from presskit.photos import PHOTO_STORE, photo_max_mb
from resilience.breakers import get_breaker
from resilience.models import QueuedJob
from resilience.queue import job_type_get
from tests.servers import REPO


def test_the_default_photo_storage_is_a_folder_in_the_data_dir_served_under_media():
    storage = storages["photos"]
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(settings.DATA_DIR / "media" / "photos")
    assert storage.url("presskits/x/y.png") == "/media/photos/presskits/x/y.png"
    assert settings.PHOTO_STAGING_DIR == settings.DATA_DIR / "uploads"
    assert settings.PHOTO_MAX_BYTES == 8 * 1024 * 1024 and photo_max_mb() == 8


def test_the_photo_job_waits_on_the_storage_breaker_at_high_priority():
    assert job_type_get("presskit.photo_store") is PHOTO_STORE
    assert PHOTO_STORE.dependency == "storage" and PHOTO_STORE.priority == QueuedJob.Priority.HIGH
    config = get_breaker("storage").config
    assert (config.failure_threshold, config.window) == (5, 30)


def test_operators_name_another_storage_from_the_environment(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PRESSKIT_DATA_DIR": str(tmp_path),
           "REDIS_URL": settings.REDIS_URL, "PHOTO_MAX_BYTES": "1048576",
           "PHOTO_STORAGE_BACKEND": "django.core.files.storage.InMemoryStorage",
           "PHOTO_STORAGE_OPTIONS": json.dumps({"base_url": "https://cdn.example.com/photos/"})}
    code = ("from django.core.files.storage import storages; from django.conf import settings; "
            "print(type(storages['photos']).__name__, storages['photos'].url('a.png'), settings.PHOTO_MAX_BYTES)")
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
                            check=False, cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["InMemoryStorage", "https://cdn.example.com/photos/a.png", "1048576"], result.stderr
