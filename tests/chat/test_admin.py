"""Staff see chats and transcripts in the admin; nobody else does."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from chat import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    session = services.chat_session_create(language="es")
    services.answer_submit(session_id=str(session.pk), text="Luna <b>Roja</b>")
    return session


def test_staff_see_a_chat_and_its_transcript(admin_client, chat):
    page = admin_client.get(f"/admin/chat/chatsession/{chat.pk}/change/").content.decode()
    assert "Luna &lt;b&gt;Roja&lt;/b&gt;" in page
    assert admin_client.get("/admin/chat/chatsession/").status_code == 200
    assert admin_client.get("/admin/presskit/presskit/").status_code == 200


def test_non_staff_cannot_reach_the_admin(client, chat):
    user = get_user_model().objects.create_user("artist", password="secret-123")
    client.force_login(user)
    response = client.get(f"/admin/chat/chatsession/{chat.pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
