"""The bios in the page's other language: with AI configured, every bio saved is translated by a
provider in a queued job (real SDKs against the fake LLM server, run as a worker runs it), never
from templates; the public page shows the reader's language when a translation exists, the
chat's panel shows it under its own heading, and a translation of bios changed since is set aside."""
from __future__ import annotations

import re

import jsonschema
import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils.html import escape
from django.utils import timezone

from chat import bios, services
from chat.models import ChatSession
from chat.prompts import Prompt, build_prompt
from chat.rendering import render_draft
from presskit.documents import json_schema
from presskit.models import Presskit
from presskit.services import presskit_publish
from resilience import queue
from resilience.breakers import get_breaker
from resilience.degradation import Level
from resilience.models import QueuedJob
from tests.chat.test_bios import AI_PROVIDERS, SIX_ANSWERS
from tests.conftest import make_artist

pytestmark = pytest.mark.django_db(transaction=True)

FAKE_SPANISH = "Biografía breve de prueba escrita por la IA falsa."
FAKE_ENGLISH = "A short test bio written by the fake AI."
ENGLISH_ONE_LINER = "Luna Roja: house and techno DJ from Madrid, playing since 2014."
ENGLISH_SHORT = ("Luna Roja is a house and techno DJ based in Madrid who started out playing her father's "
                 "records and now plays festivals all over Spain.")
ENGLISH_LONG = " ".join(["A long English bio with plenty of detail about the artist and her music."] * 6)


def finish(artist) -> None:
    """The seventh answer given, then its bio written as the turn writes it."""
    Presskit.objects.filter(chat_session__pk=artist.chat_id).update(**SIX_ANSWERS)
    ChatSession.objects.filter(pk=artist.chat_id).update(current_step=7)
    turn = services.answer_submit(session_id=artist.chat_id, text="booking@lunaroja.com")
    async_to_sync(bios.bio_after_answers)(session_id=artist.chat_id, version=services.finish_version(turn.message),
                                          ai_allowed=True)


def city_changed(artist, city: str) -> None:
    """The artist edits the city in the panel: the bio is written again."""
    turn = services.answer_set(session_id=artist.chat_id, step=4, text=city)
    async_to_sync(bios.bio_after_answers)(session_id=artist.chat_id, version=services.finish_version(turn.message),
                                          ai_allowed=True)


def presskit_of(artist) -> Presskit:
    return Presskit.objects.get(chat_session__pk=artist.chat_id)


def translation_jobs(artist) -> list[QueuedJob]:
    return list(QueuedJob.objects.filter(job_type=bios.TRANSLATION_JOB_TYPE,
                                         owner=f"presskit:{presskit_of(artist).pk}").order_by("pk"))


def run_due(job: QueuedJob) -> str:
    """A worker's turn with the job, made due now (as the drain hands it out)."""
    QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    return queue.job_run(job.pk)


def published(artist) -> str:
    version = presskit_publish(presskit_id=str(presskit_of(artist).pk), language="es")
    return version.document["slug"]


def page(slug: str, query: str = "", **headers) -> str:
    """The public page's bio section."""
    return whole_page(slug, query, **headers).split('aria-labelledby="bio-title">')[1].split("</section>")[0]


def whole_page(slug: str, query: str = "", **headers) -> str:
    response = Client(HTTP_HOST="localhost").get(f"/p/{slug}/{query}", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def descriptions(html: str) -> set[str]:
    """What search engines and link previews read as the page's description."""
    return set(re.findall(r'<meta (?:name|property)="(?:description|og:description|twitter:description)" content="([^"]*)"',
                          html))


def asked_prompt(artist, language: str) -> Prompt:
    """What a provider is told to translate the artist's bios into `language`."""
    return build_prompt(bios.translation_request(ChatSession.objects.select_related("presskit").get(pk=artist.chat_id),
                                                 language))


def bio_shown(section: str) -> tuple[str, str]:
    """The bio's language (its lang attribute) and its short text, as a page's bio section shows them."""
    language, short = re.search(r'<div class="epk__bio" lang="(\w+)">.*?<p class="epk__short">(.*?)</p>',
                                section, re.DOTALL).groups()
    return language, short


def panel(artist) -> str:
    return render_draft(ChatSession.objects.select_related("presskit").get(pk=artist.chat_id), Level.OPTIMAL)


def test_with_ai_up_a_worker_translates_the_bios_and_the_english_page_shows_them(fake_llm, artist):
    finish(artist)
    presskit = presskit_of(artist)
    assert presskit.bio_source == "ai" and presskit.bio_translations == {}
    [job] = translation_jobs(artist)
    assert job.status == "pending" and job.dependency == "ai" and job.payload["language"] == "en"

    assert run_due(job) == "done"
    job.refresh_from_db()
    assert job.result == {"provider": "openai", "language": "en"}
    # Asked in English, from the Spanish bios, for the labels the bio parser reads.
    asked = asked_prompt(artist, "en")
    assert "from Spanish into English" in asked.system and FAKE_SPANISH in asked.user
    assert asked.user.endswith("ONE LINE: …\nSHORT: …\nLONG: …")
    english = presskit_of(artist).bio_translations["en"]
    assert english["short"].startswith(FAKE_ENGLISH) and "fake AI" in english["long"]
    assert english["source_hash"] == bios.bios_hash(presskit)
    # The answers the artist gave stay as given.
    assert {field: getattr(presskit_of(artist), field) for field in SIX_ANSWERS} == SIX_ANSWERS

    slug = published(artist)
    english_page = page(slug, **{"Accept-Language": "en"})
    assert bio_shown(english_page) == ("en", english["short"]) and FAKE_SPANISH not in english_page
    assert '<summary lang="en">Read the full biography</summary>' in english_page
    spanish_page = page(slug, **{"Accept-Language": "es"})
    assert bio_shown(spanish_page) == ("es", presskit.short_bio) and FAKE_ENGLISH not in spanish_page
    assert bio_shown(page(slug, "?lang=en", **{"Accept-Language": "es"})) == ("en", english["short"])
    # Previews and search engines read the description in the page's language too.
    assert descriptions(whole_page(slug, **{"Accept-Language": "en"})) == {escape(english["short"])}
    assert descriptions(whole_page(slug, **{"Accept-Language": "es"})) == {escape(presskit.short_bio)}

    document = Client(HTTP_HOST="localhost").get(f"/p/{slug}.json").json()
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())
    assert document["bio"]["short"].startswith(FAKE_SPANISH)
    assert document["bio"]["translations"]["en"]["short"].startswith(FAKE_ENGLISH)
    assert set(document["bio"]["translations"]["en"]) == {"one_liner", "short", "long"}

    shown = panel(artist)
    assert "En inglés" in shown and f'<p class="bios__short" lang="en">{FAKE_ENGLISH}' in shown


def test_with_every_provider_failing_the_translation_waits_and_the_page_stays_spanish(fake_llm, artist):
    for target in AI_PROVIDERS:
        fake_llm.inject(target, kind="status", code=503)
    finish(artist)
    presskit = presskit_of(artist)
    assert presskit.bio_source == "template"  # no template translation: only the AI's will come
    [job] = translation_jobs(artist)
    assert run_due(job) in ("failed", "released")
    job.refresh_from_db()
    assert job.status in ("pending", "failed") and job.next_attempt_at > timezone.now()  # retried later
    assert presskit_of(artist).bio_translations == {}
    html = page(published(artist), **{"Accept-Language": "en"})
    assert bio_shown(html) == ("es", presskit.short_bio) and presskit.short_bio.startswith("Luna Roja es artista")
    assert "En inglés" not in panel(artist)

    # A provider is back: the worker's next turn writes it.
    fake_llm.clear()
    for name in AI_PROVIDERS:
        get_breaker(name).reset()
    assert run_due(job) == "done"
    assert presskit_of(artist).bio_translations["en"]["short"].startswith(FAKE_ENGLISH)


def test_with_no_ai_provider_configured_no_translation_is_queued(artist):
    finish(artist)
    presskit = presskit_of(artist)
    assert presskit.bio_source == "template" and presskit.bio_translations == {}
    assert translation_jobs(artist) == []
    assert bio_shown(page(published(artist), **{"Accept-Language": "en"})) == ("es", presskit.short_bio)


def test_a_translation_of_bios_changed_since_is_set_aside(fake_llm, artist):
    finish(artist)
    [madrid] = translation_jobs(artist)
    assert run_due(madrid) == "done"
    assert "en" in presskit_of(artist).bio_translations
    # The city changes: new bios (their one-liner names it), and the old translation goes with the old bios.
    city_changed(artist, "Barcelona")
    assert presskit_of(artist).bio_translations == {}
    assert bio_shown(page(published(artist), **{"Accept-Language": "en"})) == ("es", presskit_of(artist).short_bio)

    # A queued translation of the Barcelona bios, then the bios change again before it runs:
    # it is set aside without asking any provider.
    [_, barcelona] = translation_jobs(artist)
    city_changed(artist, "Valencia")
    requests_before = len(fake_llm.requests())
    assert run_due(barcelona) == "done"
    barcelona.refresh_from_db()
    assert barcelona.result == {"superseded": True} and len(fake_llm.requests()) == requests_before

    # Made from the Valencia bios, but they changed while it was being written: not saved either.
    [*_, valencia] = translation_jobs(artist)
    QueuedJob.objects.filter(pk=valencia.pk).update(next_attempt_at=timezone.now())
    claim = queue.job_claim(valencia.pk)
    written = bios.bio_translate_run(valencia.payload)
    city_changed(artist, "Sevilla")
    assert queue.job_settle(claim, value=written) == "done"
    valencia.refresh_from_db()
    assert valencia.result == {"superseded": True} and presskit_of(artist).bio_translations == {}


def test_html_in_a_models_translation_is_escaped_on_the_page_and_in_the_panel(fake_llm, artist):
    finish(artist)
    [job] = translation_jobs(artist)
    hostile = "<script>alert('x')</script>"
    fake_llm.inject("openai", kind="none", count=1,
                    reply=f"ONE LINE: {ENGLISH_ONE_LINER} <b>live</b>\nSHORT: {hostile} {ENGLISH_SHORT}\n"
                          f"LONG: {ENGLISH_LONG} <img src=x onerror=alert(1)>")
    assert run_due(job) == "done"
    english = presskit_of(artist).bio_translations["en"]
    assert english["short"] == f"{hostile} {ENGLISH_SHORT}"
    for html in (page(published(artist), **{"Accept-Language": "en"}), panel(artist)):
        assert "<script>alert" not in html and "<b>live" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "&lt;img src=x" in html
        assert "&lt;b&gt;live&lt;/b&gt;" in html


def test_an_english_artists_bios_are_put_in_spanish(fake_llm):
    artist = make_artist("en")
    finish(artist)
    [job] = translation_jobs(artist)
    assert job.payload["language"] == "es"
    assert run_due(job) == "done"
    asked = asked_prompt(artist, "es")
    assert "al español, del inglés" in asked.system and FAKE_ENGLISH in asked.user
    assert asked.user.endswith("FRASE: …\nBREVE: …\nLARGA: …")
    assert presskit_of(artist).bio_translations["es"]["short"].startswith(FAKE_SPANISH)
    shown = panel(artist)
    assert "In Spanish" in shown and f'<p class="bios__short" lang="es">{FAKE_SPANISH}' in shown
