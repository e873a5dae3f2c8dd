"""The bio after the seventh answer, through the WebSocket the artist uses: AI-written when a
provider can (real SDKs against the fake LLM server), else the template bio at once and the AI
bio queued, then written by the queue's run and pushed to the open page."""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from chat import bios
from chat.models import ChatMessage, ChatSession
from chat.prompts import BIO_LABELS
from chat.providers.base import ReplyKind, ReplyRequest
from chat.providers.template import template_one_liner
from presskit.models import Presskit
from resilience import queue
from resilience.breakers import get_breaker
from resilience.degradation import Level, degradation_force, degradation_release
from resilience.drain import Gate
from resilience.models import AIRequestLog, QueuedJob
from tests.conftest import answer, message_texts, send_and_collect

pytestmark = pytest.mark.django_db(transaction=True)

SIX_ANSWERS = {
    "artist_name": "Luna Roja",
    "genres": ["house", "techno melódico"],
    "experience": "desde 2014",
    "location": "Madrid",
    "story": "Empecé pinchando los vinilos de mi padre en Vallecas. Hoy toco en festivales de toda España.",
    "links": ["@lunaroja"],
}
AI_PROVIDERS = ("openai", "anthropic", "local")
TEMPLATE_ONE_LINER = "Luna Roja: artista de house y techno melódico con base en Madrid, en activo desde 2014."
SHORT = "Una biografía breve con las palabras justas para pasar la medida mínima de quince palabras sin problema alguno."
LONG = " ".join(["Una biografía larga con bastante detalle sobre la artista."] * 8)


@sync_to_async
def at_last_step(chat_id: str, **answers) -> None:
    """Six answers given (as the chat would have saved them): the next one is the booking email."""
    Presskit.objects.filter(chat_session__pk=chat_id).update(**{**SIX_ANSWERS, **answers})
    ChatSession.objects.filter(pk=chat_id).update(current_step=7)


@sync_to_async
def presskit_of(chat_id: str) -> Presskit:
    return Presskit.objects.get(chat_session__pk=chat_id)


@sync_to_async
def bio_jobs(chat_id: str) -> list[QueuedJob]:
    presskit = Presskit.objects.get(chat_session__pk=chat_id)
    return list(QueuedJob.objects.filter(job_type=bios.JOB_TYPE, owner=f"presskit:{presskit.pk}"))


async def finish_with_ai_down(fake_llm, artist, open_chat):
    """Every AI provider answers 503; the artist gives the seventh answer. (socket, its frames)"""
    for target in AI_PROVIDERS:
        fake_llm.inject(target, kind="status", code=503)
    await at_last_step(artist.chat_id)
    communicator = await open_chat(artist)
    return communicator, await answer(communicator, "booking@lunaroja.com")


def texts(frames: list[str]) -> list[str]:
    return [text for frame in frames for text in message_texts(frame) if text]


@pytest.mark.asyncio
async def test_no_ai_configured_means_the_template_bio_and_nothing_queued(artist, open_chat):
    await at_last_step(artist.chat_id)
    communicator = await open_chat(artist)
    frames = await answer(communicator, "booking@lunaroja.com")
    assert texts(frames)[-1].startswith("He preparado tu biografía")
    presskit = await presskit_of(artist.chat_id)
    assert presskit.bio_source == "template" and presskit.short_bio.startswith("Luna Roja es artista de house")
    assert presskit.one_liner == TEMPLATE_ONE_LINER
    assert "Empecé pinchando los vinilos de mi padre en Vallecas." in presskit.short_bio
    # The story is the artist's own words, quoted; the links are buttons on the page, not prose.
    assert "«Empecé pinchando los vinilos de mi padre en Vallecas. Hoy toco en festivales" in presskit.long_bio
    assert "@lunaroja" not in presskit.long_bio and "soundcloud" not in presskit.long_bio
    assert await bio_jobs(artist.chat_id) == []
    assert "Presskit completo" in frames[-1] and 'id="bios"' in frames[-1]


@pytest.mark.asyncio
async def test_an_ai_provider_writes_the_bio_through_the_real_sdk(fake_llm, artist, open_chat):
    await at_last_step(artist.chat_id)
    communicator = await open_chat(artist)
    frames = await answer(communicator, "booking@lunaroja.com")
    assert texts(frames)[-1].startswith("He escrito tu biografía")
    presskit = await presskit_of(artist.chat_id)
    assert presskit.bio_source == "ai" and "escrita por la IA falsa" in presskit.short_bio
    # The fake's bio has no one-liner: the template's stands in, and the bio stands.
    assert presskit.one_liner == TEMPLATE_ONE_LINER
    assert 'data-source="ai"' in frames[-1] and "Escrita por la IA" in frames[-1]
    # Two requests through the OpenAI SDK: the turn's reply, then the bio.
    assert [request["api"] for request in fake_llm.requests("openai")] == ["openai", "openai"]
    [job] = await bio_jobs(artist.chat_id)
    assert job.status == "done" and job.attempts == 1 and job.result["provider"] == "openai"
    # The bio's AI request is logged like a turn's (no prompt or reply text, only hashes).
    # (The turn's own log is written in the background: wait for both.)
    for _ in range(50):
        logged = [row async for row in AIRequestLog.objects.filter(session_id=artist.chat_id, status="success")]
        if len({row.turn_id for row in logged}) == 2:
            break
        await asyncio.sleep(0.05)
    assert len({row.turn_id for row in logged}) == 2


@pytest.mark.asyncio
async def test_with_every_provider_down_the_template_bio_comes_now_and_the_ai_bio_later(fake_llm, artist, open_chat):
    from presskit.models import Integration

    await Integration.objects.acreate(name="agencia", label="Agencia", url="http://127.0.0.1:9/hook")
    communicator, frames = await finish_with_ai_down(fake_llm, artist, open_chat)
    assert texts(frames)[-1].startswith("Ahora mismo el servicio de IA no está disponible")
    assert 'data-fallback="true"' in frames[-1]
    assert "La IA escribirá una versión mejorada" in frames[-1]
    presskit = await presskit_of(artist.chat_id)
    assert presskit.bio_source == "template"
    [job] = await bio_jobs(artist.chat_id)
    assert job.status == "failed" and job.attempts == 1 and job.dependency == "ai"
    assert job.last_error == "BioUnavailable"

    # The providers come back; the queue runs the job (as a worker would): the AI bio is saved
    # and pushed to the page that is still open, with a message.
    fake_llm.clear()
    await QueuedJob.objects.filter(pk=job.pk).aupdate(next_attempt_at=timezone.now())
    assert await sync_to_async(queue.job_run)(job.pk) == "done"
    pushed = await communicator.receive_from(5)
    assert texts([pushed])[-1].startswith("¡Ya está aquí tu biografía escrita por la IA!")
    assert 'data-source="ai"' in pushed and "La IA escribirá" not in pushed
    presskit = await presskit_of(artist.chat_id)
    assert presskit.bio_source == "ai" and "IA falsa" in presskit.long_bio
    # The integrations had the template bio: a send of the AI one is queued for them.
    assert await QueuedJob.objects.filter(job_type="presskit.integration_sync",
                                          payload__version__startswith="ai-bio:").aexists()
    # A second delivery of the same job changes nothing and says nothing.
    assert await sync_to_async(queue.job_run)(job.pk) == "skipped"
    assert await ChatMessage.objects.filter(session_id=artist.chat_id, text__startswith="¡Ya está aquí").acount() == 1


@pytest.mark.asyncio
async def test_a_queued_bio_for_answers_edited_since_is_set_aside(fake_llm, artist, open_chat):
    communicator, _ = await finish_with_ai_down(fake_llm, artist, open_chat)
    [old_job] = await bio_jobs(artist.chat_id)
    # The artist changes the city: a new bio (template again, AI still down) and a new job.
    await send_and_collect(communicator, {"action": "edit", "step": "4"})
    await answer(communicator, "Barcelona")
    presskit = await presskit_of(artist.chat_id)
    assert "Barcelona" in presskit.short_bio and presskit.bio_source == "template"
    jobs = await bio_jobs(artist.chat_id)
    assert len(jobs) == 2
    fake_llm.clear()
    await QueuedJob.objects.filter(pk=old_job.pk).aupdate(next_attempt_at=timezone.now())
    requests_before = len(fake_llm.requests())
    assert await sync_to_async(queue.job_run)(old_job.pk) == "done"
    await old_job.arefresh_from_db()
    assert old_job.result == {"superseded": True}
    assert len(fake_llm.requests()) == requests_before  # no provider asked for a bio nobody needs
    presskit = await presskit_of(artist.chat_id)
    assert "Barcelona" in presskit.short_bio and presskit.bio_source == "template"


@pytest.mark.asyncio
async def test_html_in_answers_is_escaped_in_the_bio(artist, open_chat):
    await at_last_step(artist.chat_id, story="<script>alert('x')</script> Toco techno desde hace diez años en Madrid.")
    communicator = await open_chat(artist)
    frames = await answer(communicator, "booking@lunaroja.com")
    assert "<script>alert" not in frames[-1] and "&lt;script&gt;" in frames[-1]


def bio_request_of(language: str = "es") -> ReplyRequest:
    return ReplyRequest(session_id="parse", language=language, kind=ReplyKind.BIO, step=7, next_step=None,
                        artist_name="Luna Roja", answers={**SIX_ANSWERS, "genres": "house, techno melódico",
                                                          "links": "@lunaroja"})


def test_parse_bios_takes_the_three_texts_and_refuses_garbage():
    request = bio_request_of()
    one_liner = "Luna Roja: DJ de house y techno melódico desde Madrid."
    assert bios.parse_bios(f"**FRASE:** {one_liner}\n\n**BREVE:** {SHORT}\n\n**LARGA:** {LONG}", request) == (
        one_liner, SHORT, LONG)
    # In another order, under markdown headings: the same three texts.
    assert bios.parse_bios(f"### BREVE:\n{SHORT}\n### LARGA:\n{LONG}\n### Frase:\n{one_liner}", request) == (
        one_liner, SHORT, LONG)
    for garbage in ("¡Gracias! Lo tengo anotado.", f"BREVE: {SHORT}", f"BREVE: corta\nLARGA: {LONG}", "",
                    f"FRASE: {one_liner}\nLARGA: {LONG}"):
        with pytest.raises(bios.BioMalformed):
            bios.parse_bios(garbage, request)
    assert BIO_LABELS["en"] == ("ONE LINE:", "SHORT:", "LONG:")


@pytest.mark.parametrize("one_liner", [
    None,  # left out
    "",
    "Luna Roja: " + "house, " * 20 + "techno.",  # too long
    "Luna Roja: DJ de house desde Madrid 🎧",
    "Luna Roja: DJ de #house desde Madrid.",
    "DJ de house y techno melódico desde Madrid.",  # the artist not named
    "Luna Roja.",
])
def test_a_one_liner_not_as_asked_gives_way_to_the_template_one(one_liner):
    request = bio_request_of()
    text = (f"FRASE: {one_liner}\n" if one_liner is not None else "") + f"BREVE: {SHORT}\nLARGA: {LONG}"
    assert bios.parse_bios(text, request) == (TEMPLATE_ONE_LINER, SHORT, LONG)
    assert template_one_liner(request) == TEMPLATE_ONE_LINER


@pytest.mark.asyncio
async def test_the_ai_one_liner_replaces_the_template_one_and_is_shown_first(fake_llm, artist, open_chat):
    communicator, frames = await finish_with_ai_down(fake_llm, artist, open_chat)
    assert (await presskit_of(artist.chat_id)).one_liner == TEMPLATE_ONE_LINER
    assert "En una línea" in frames[-1] and TEMPLATE_ONE_LINER in frames[-1]
    [job] = await bio_jobs(artist.chat_id)
    fake_llm.clear()
    # The model's own one-liner, through the real SDK; markup in it is text, escaped.
    written = "Luna Roja: <b>house</b> y techno melódico desde Madrid, en activo desde 2014."
    fake_llm.inject("openai", kind="none", reply=f"FRASE: {written}\nBREVE: {SHORT}\nLARGA: {LONG}", count=1)
    await QueuedJob.objects.filter(pk=job.pk).aupdate(next_attempt_at=timezone.now())
    assert await sync_to_async(queue.job_run)(job.pk) == "done"
    pushed = await communicator.receive_from(5)
    presskit = await presskit_of(artist.chat_id)
    assert presskit.bio_source == "ai" and (presskit.one_liner, presskit.short_bio) == (written, SHORT)
    assert "<b>house" not in pushed and "Luna Roja: &lt;b&gt;house&lt;/b&gt; y techno" in pushed
    assert pushed.index("En una línea") < pushed.index("&lt;b&gt;house") < pushed.index("Breve") < pushed.index(SHORT)


def test_the_ai_gate_follows_the_providers_breakers_and_staff(fake_llm):
    assert bios.ai_gate() is Gate.OPEN
    for name in AI_PROVIDERS:
        get_breaker(name).force_open()
    assert bios.ai_gate() is Gate.SHUT
    get_breaker("anthropic").reset()
    assert bios.ai_gate() is Gate.OPEN
    degradation_force(level=Level.LIMITED, reason="maintenance")
    try:
        assert bios.ai_gate() is Gate.SHUT
    finally:
        degradation_release(reason="done")


@pytest.mark.asyncio
async def test_a_kept_answer_that_finishes_the_presskit_gets_its_bio_when_applied(artist):
    from chat.kept import pending_answer_keep
    from chat.pending import pending_answers_replay_chat

    await at_last_step(artist.chat_id)
    await sync_to_async(pending_answer_keep)(session_id=artist.chat_id, text="booking@lunaroja.com", language="es")
    assert await sync_to_async(pending_answers_replay_chat)(artist.chat_id) == 1
    presskit = await presskit_of(artist.chat_id)
    assert presskit.booking_email == "booking@lunaroja.com" and presskit.bio_source == "template"
    assert await ChatMessage.objects.filter(session_id=artist.chat_id,
                                            text__startswith="He preparado tu biografía").aexists()


@pytest.mark.asyncio
async def test_starting_again_clears_the_bio_with_the_answers(artist, open_chat):
    await at_last_step(artist.chat_id)
    communicator = await open_chat(artist)
    await answer(communicator, "booking@lunaroja.com")
    assert (await presskit_of(artist.chat_id)).short_bio
    frames = await send_and_collect(communicator, {"action": "restart"})
    presskit = await presskit_of(artist.chat_id)
    assert presskit.one_liner == presskit.short_bio == presskit.long_bio == presskit.bio_source == ""
    assert presskit.artist_name == ""
    assert 'id="bios"' not in frames[-1]


@pytest.mark.asyncio
async def test_finishing_the_presskit_sends_it_to_the_integrations(artist, open_chat, settings):
    from presskit.models import Integration
    from presskit.webhooks import secret_seal
    from tests.webhook_receiver import RECEIVER_NETWORK, WebhookReceiver

    settings.RESILIENCE_KEY_PREFIX = f"test-finish-{artist.chat_id[:8]}"
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    with WebhookReceiver(secret="s3cret") as receiver:
        await Integration.objects.acreate(name="agencia", label="Agencia de booking", url=receiver.url,
                                          secret_sealed=secret_seal("s3cret"))
        await at_last_step(artist.chat_id)
        communicator = await open_chat(artist)
        await answer(communicator, "booking@lunaroja.com")
        await asyncio.to_thread(receiver.wait_for, lambda seen: seen.deliveries(), 10)
        [delivery] = receiver.deliveries()
        assert delivery.verified and delivery.key.startswith("sync:agencia:")
        document = delivery.json()["presskit"]
        assert document["artist_name"] == "Luna Roja" and document["short_bio"].startswith("Luna Roja es artista")
        for _ in range(100):  # the send is recorded just after the receiver answered
            [job] = [job async for job in QueuedJob.objects.filter(job_type="presskit.integration_sync")]
            if job.status == "done":
                break
            await asyncio.sleep(0.05)
        assert job.status == "done" and job.dependency == "integration:agencia"


def test_the_bio_and_sends_are_written_with_the_finishing_answer_so_a_crash_loses_none(fake_llm, artist, settings):
    """The process dies right after the seventh answer (before the bio and the sends): they are
    in the queue already, due after the grace period, and a worker does them."""
    from chat import services
    from presskit.models import Integration
    from tests.webhook_receiver import RECEIVER_NETWORK, WebhookReceiver

    settings.RESILIENCE_KEY_PREFIX = f"test-ahead-{artist.chat_id[:8]}"
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    with WebhookReceiver() as receiver:
        Integration.objects.create(name="lista", label="Lista de correo", url=receiver.url)
        async_to_sync(at_last_step)(artist.chat_id)
        before = timezone.now()
        turn = services.answer_submit(session_id=artist.chat_id, text="booking@lunaroja.com")
        [bio_job] = QueuedJob.objects.filter(job_type=bios.JOB_TYPE)
        assert bio_job.status == "pending" and bio_job.attempts == 0 and bio_job.dependency == "ai"
        QueuedJob.objects.filter(pk=bio_job.pk).update(next_attempt_at=timezone.now())  # the grace is over
        assert queue.job_run(bio_job.pk) == "done"
        presskit = Presskit.objects.get(chat_session__pk=artist.chat_id)
        assert presskit.bio_source == "ai"  # and the artist is told, on the page or when back:
        assert ChatMessage.objects.filter(session_id=artist.chat_id, text__startswith="¡Ya está aquí").exists()
        [job] = QueuedJob.objects.filter(job_type="presskit.integration_sync", payload__version__startswith="answer:")
        assert job.status == "pending" and job.attempts == 0 and job.dependency == "integration:lista"
        assert job.next_attempt_at >= before + timezone.timedelta(seconds=settings.QUEUE_WRITE_AHEAD_GRACE - 1)
        assert job.payload["version"] == f"answer:{turn.message.pk}"
        QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())  # the grace is over
        assert queue.job_run(job.pk) == "done"
        [delivery] = receiver.deliveries()
        assert delivery.json()["presskit"]["booking_email"] == "booking@lunaroja.com"
