"""The chat page over HTTP: Spanish by default, English available, forms with CSRF, and a chat
that works without JavaScript through the same conversation code."""
from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import Client

from chat.models import ChatSession
from chat.selectors import NEW_CHAT_COOKIE

pytestmark = pytest.mark.django_db(transaction=True)


def chat_id(page: str) -> str:
    return re.search(r'ws-connect="/ws/chat/([0-9a-f-]+)/"', page).group(1)


def test_the_page_opens_a_spanish_chat_at_step_one(client):
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es">' in page
    assert "Paso 1 de 7" in page
    assert "¿cuál es tu nombre artístico?" in page
    assert '<label for="message"' in page  # the input has a label
    assert "vendor/htmx-2.0.11/htmx.min" in page and "vendor/htmx-ext-ws-2.0.4/ws" in page
    assert "https://" not in page.split("<body>")[0]  # no CDN
    assert not ChatSession.objects.filter(pk=chat_id(page)).exists()  # stored on its first answer


def rows_in_every_table() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()
            if model._meta.managed and not model._meta.proxy}


def test_a_client_that_never_answers_leaves_no_row_in_any_table():
    before = rows_in_every_table()
    for client in (Client(), Client(HTTP_USER_AGENT="facebookexternalhit/1.1"), Client(HTTP_ACCEPT_LANGUAGE="en")):
        for _ in range(3):  # a crawler's, a link preview's, a reloading browser's visits
            assert client.get("/").status_code == 200
        assert client.head("/").status_code == 200
    assert rows_in_every_table() == before


def test_the_first_answer_stores_the_chat_it_was_shown_and_the_browser_keeps_it(client):
    shown = chat_id(client.get("/").content.decode())
    client.post("/", {"message": "Luna Roja"})
    chat = ChatSession.objects.get(pk=shown)
    assert [m.role for m in chat.messages.all()] == ["assistant", "user", "assistant"]  # the greeting first
    page = client.get("/").content.decode()
    assert chat_id(page) == shown and "Paso 2 de 7" in page
    assert client.cookies[NEW_CHAT_COOKIE].value == ""  # in the browser's session now: the cookie went
    assert chat_id(client.get("/").content.decode()) == shown


def test_a_forged_new_chat_cookie_gets_a_new_chat_not_that_one(client):
    shown = chat_id(client.get("/").content.decode())
    client.cookies[NEW_CHAT_COOKIE] = f"{shown}:forged"
    assert chat_id(client.get("/").content.decode()) != shown


def test_a_reload_resumes_the_same_chat(client):
    first = chat_id(client.get("/").content.decode())
    assert chat_id(client.get("/").content.decode()) == first


def test_another_browser_gets_its_own_chat(client):
    assert chat_id(client.get("/").content.decode()) != chat_id(Client().get("/").content.decode())


def test_english_is_available_from_the_browser_language():
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert '<html lang="en">' in page and "Step 1 of 7" in page


def test_the_language_switch_is_a_csrf_protected_form():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/").content.decode()
    assert browser.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "Step 1 of 7" in browser.get("/").content.decode()


def test_the_chat_form_refuses_a_post_without_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/").content.decode()
    assert browser.post("/", {"message": "Luna Roja"}).status_code == 403
    assert not ChatSession.objects.filter(pk=chat_id(page)).exists()


def test_without_javascript_the_form_posts_answers_and_shows_the_reply(client):
    client.get("/")
    response = client.post("/", {"message": "Luna Roja"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Paso 2 de 7" in page and "Luna Roja" in page
    assert 'data-provider="template"' in page
    client.post("/", {"action": "edit", "step": "1"})
    client.post("/", {"message": "Luna Llena"})
    assert "Luna Llena" in client.get("/").content.decode()


def test_without_javascript_a_bad_post_shows_the_error(client):
    client.get("/")
    response = client.post("/", {"message": "  "})
    assert response.status_code == 400
    assert "Tu respuesta está vacía" in response.content.decode()


def test_artist_text_is_escaped_in_the_page(client):
    client.get("/")
    client.post("/", {"message": "<b>DJ</b><script>x()</script>"})
    page = client.get("/").content.decode()
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page


def test_without_its_database_the_page_says_so_instead_of_failing(client, monkeypatch):
    from django.db import OperationalError

    from chat import views

    def database_gone(request):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(views, "_session_for_request", database_gone)
    response = client.get("/")
    assert response.status_code == 503
    assert "no podemos abrir tu conversación" in response.content.decode()
