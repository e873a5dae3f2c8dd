"""The public page in two languages: its own words follow the reader (?lang=, else the browser's
Accept-Language, else the artist's language), the artist's words stay as written and say which
language they are in, each language has its address (hreflang, x-default) and the page links to
the other one; caches keep the languages apart (Vary)."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.presskit.test_public_snapshot import published

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page():
    return published("Luna Roja")  # written in Spanish


def get(path: str, **headers: str):
    response = Client(HTTP_HOST="localhost", headers=headers).get(path)
    assert response.status_code == 200
    return response, response.content.decode()


def test_an_english_reader_gets_english_words_around_the_artist_s_spanish(page):
    response, html = get(f"/p/{page.slug}/", **{"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in html and ">Biography</h2>" in html and "Version 1 · published on" in html
    assert "Luna Roja es DJ de house en Madrid." in html  # the bio as the artist has it
    assert re.search(r'<dd lang="es">Madrid</dd>', html)
    assert "Accept-Language" in response["Vary"]
    assert re.search(r'<a href="http://localhost/p/[a-z0-9-]+/\?lang=es" hreflang="es" lang="es">Esta página en español</a>', html)


def test_a_link_to_one_language_wins_over_the_browser(page):
    _, html = get(f"/p/{page.slug}/?lang=es", **{"Accept-Language": "en"})
    assert '<html lang="es">' in html and ">Biografía</h2>" in html
    assert f'<link rel="canonical" href="http://localhost/p/{page.slug}/?lang=es">' in html
    _, html = get(f"/p/{page.slug}/?lang=fr", **{"Accept-Language": "en"})  # not one of ours: the browser's
    assert '<html lang="en">' in html and f'<link rel="canonical" href="http://localhost/p/{page.slug}/?lang=fr">' not in html


def test_without_a_language_asked_the_page_speaks_the_artist_s(page):
    _, html = get(f"/p/{page.slug}/")
    assert '<html lang="es">' in html and f'<link rel="canonical" href="http://localhost/p/{page.slug}/">' in html
    for code in ("es", "en"):
        assert f'<link rel="alternate" hreflang="{code}" href="http://localhost/p/{page.slug}/?lang={code}">' in html
    assert f'<link rel="alternate" hreflang="x-default" href="http://localhost/p/{page.slug}/">' in html
    assert "This page in English" in html
