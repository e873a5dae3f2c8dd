"""Staff and published presskits, through the admin: the versions, a takedown for abuse (with a
reason, logged, and the artist cannot publish again until it is lifted), and the figures on the
status dashboard."""
from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.test import Client

from chat import services as chat_services
from presskit.models import Presskit
from presskit.services import PublishRefused, presskit_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_superuser("staff", "staff@itera.test", "pw-for-tests")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def published_presskit(name: str = "Luna Roja") -> Presskit:
    session = chat_services.chat_session_create(language="es")
    Presskit.objects.filter(pk=session.presskit_id).update(
        artist_name=name, genres=["house"], booking_email="b@luna.es", short_bio=f"{name} es DJ.", bio_source="template")
    presskit_publish(presskit_id=str(session.presskit_id), language="es")
    return Presskit.objects.get(pk=session.presskit_id)


def test_staff_see_published_presskits_and_their_versions(staff):
    presskit = published_presskit()
    presskit_publish(presskit_id=str(presskit.pk), language="es")
    listing = staff.get("/admin/presskit/presskit/?published=yes").content.decode()
    assert f"/p/{presskit.slug}/" in listing and "v2" in listing
    detail = staff.get(f"/admin/presskit/presskit/{presskit.pk}/change/").content.decode()
    assert detail.count('class="field-number"') == 2


def test_a_takedown_asks_a_reason_logs_it_and_blocks_publishing(staff):
    presskit = published_presskit()
    form = {"action": "take_down", "_selected_action": [str(presskit.pk)]}
    asked = staff.post("/admin/presskit/presskit/", form)
    assert asked.status_code == 200 and "reason" in asked.content.decode()  # nothing done without a reason
    assert Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}/").status_code == 200

    done = staff.post("/admin/presskit/presskit/", {**form, "apply": "1", "reason": "Suplantación de identidad"})
    assert done.status_code == 302
    assert Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}/").status_code == 404
    presskit.refresh_from_db()
    assert presskit.takedown_reason == "Suplantación de identidad" and presskit.published_version_id is None
    assert LogEntry.objects.filter(object_id=str(presskit.pk), change_message__contains="Suplantación").exists()
    with pytest.raises(PublishRefused) as refused:
        presskit_publish(presskit_id=str(presskit.pk), language="es")
    assert refused.value.code == "taken_down"

    staff.post("/admin/presskit/presskit/", {"action": "restore", "_selected_action": [str(presskit.pk)]})
    presskit_publish(presskit_id=str(presskit.pk), language="es")
    assert Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}/").status_code == 200


def test_the_status_dashboard_counts_public_pages(staff):
    published_presskit("Luna Roja")
    published_presskit("Sol Verde")
    page = staff.get("/admin/resilience/servicestatus/").content.decode()
    assert 'data-figure="public" data-count="2"' in page and 'data-figure="versions" data-count="2"' in page
