"""The template responder: what it says for each kind of reply, in each language."""
from __future__ import annotations

import pytest

from chat import responder_en, responder_es
from chat.catalogue import Catalogue, StepTexts
from chat.providers.base import ReplyKind, ReplyRequest
from chat.providers.template import TemplateResponder, compose_reply, emergency_reply
from chat.steps import STEPS, TOTAL_STEPS, InvalidAnswer, step_by_number

CATALOGUES = {"es": responder_es.CATALOGUE, "en": responder_en.CATALOGUE}
NAME = "Luna Roja"
# Answers as stored (display form) that match no per-step pattern in either language.
PLAIN_ANSWERS = {
    1: "Luna Roja",
    2: "pop, cumbia",
    3: "5 años",
    4: "Madrid",
    5: "Empecé pinchando vinilos de mi padre en fiestas del barrio.",
    6: "https://soundcloud.com/luna, @luna_roja",
    7: "booking@lunaroja.com",
}


def ask(kind: ReplyKind, step: int, next_step: int | None, *, language: str = "es",
        session_id: str = "session-1", **extra) -> ReplyRequest:
    if kind.ours:  # the optional sections' replies are about one of them
        extra.setdefault("section", "dates")
    return ReplyRequest(session_id=session_id, language=language, kind=kind, step=step,
                        next_step=next_step, artist_name=NAME, **extra)


def texts(catalogue: Catalogue, step: int) -> StepTexts:
    return catalogue.steps[step_by_number(step).field]


def question(catalogue: Catalogue, step: int) -> str:
    return texts(catalogue, step).question


def acknowledgements(catalogue: Catalogue, step: int, answer: str) -> set[str]:
    """Every acknowledgement the responder may use for `answer` (generic ones and patterns)."""
    step_texts = texts(catalogue, step)
    options = [*step_texts.acknowledgements, *(pattern.reply for pattern in step_texts.patterns)]
    return {option.format(value=answer, name=NAME) for option in options}


@pytest.fixture(params=sorted(CATALOGUES))
def language(request) -> str:
    return request.param


@pytest.fixture
def catalogue(language) -> Catalogue:
    return CATALOGUES[language]


# --- one test per reply kind ----------------------------------------------------------------


@pytest.mark.parametrize("step", range(1, TOTAL_STEPS))
def test_advance_acknowledges_the_answer_then_asks_the_next_question(language, catalogue, step):
    answer = PLAIN_ANSWERS[step]
    reply = compose_reply(ask(ReplyKind.ADVANCE, step, step + 1, language=language, answer=answer))

    next_question = question(catalogue, step + 1)
    assert reply.endswith(" " + next_question)
    generic = texts(catalogue, step).acknowledgements
    acknowledgement = reply.removesuffix(" " + next_question)
    assert acknowledgement in {ack.format(value=answer, name=NAME) for ack in generic}
    # Where every phrase of the step quotes the answer (or the name), the reply must too.
    if all("{value}" in ack for ack in generic):
        assert answer in acknowledgement
    if all("{name}" in ack for ack in generic):
        assert NAME in acknowledgement


@pytest.mark.parametrize(("step", "bad_answer"), [
    (1, "A"), (2, "a, b, c, d, e, f"), (2, "x" * 41), (3, "mucho"), (3, "desde 2999"),
    (4, "m" * 201), (5, "corta"), (6, "not a link!!"), (6, "@a " * 11), (7, "booking at luna"),
])
def test_reask_gives_the_reason_and_repeats_the_same_question(language, catalogue, step, bad_answer):
    with pytest.raises(InvalidAnswer) as caught:
        step_by_number(step).validate(bad_answer)
    error = caught.value
    reply = compose_reply(ask(ReplyKind.REASK, step, step, language=language,
                              reason_code=error.code, reason_params=error.params))

    reason = catalogue.invalid[error.code].format(**error.params)
    assert reply == catalogue.reask.format(reason=reason, question=question(catalogue, step))
    assert reply.startswith(reason)
    assert reply.endswith(question(catalogue, step))


def test_reask_fills_the_reason_with_its_params():
    reply = compose_reply(ask(ReplyKind.REASK, 2, 2, reason_code="genres_too_many", reason_params={"count": 7}))
    assert reply.startswith("Has puesto 7 géneros;")


def test_edit_ask_names_the_step_and_its_current_value(language, catalogue):
    reply = compose_reply(ask(ReplyKind.EDIT_ASK, 2, 2, language=language, answer="house, techno"))
    assert reply == catalogue.edit_ask.format(label=texts(catalogue, 2).label, value="house, techno",
                                              question=question(catalogue, 2))
    assert texts(catalogue, 2).label in reply and "house, techno" in reply


def test_edit_done_resumes_at_the_current_question(language, catalogue):
    reply = compose_reply(ask(ReplyKind.EDIT_DONE, 1, 4, language=language, answer="Luna Azul"))
    assert reply == catalogue.edit_done.format(label=texts(catalogue, 1).label, value="Luna Azul",
                                               question=question(catalogue, 4))


def test_edit_done_without_next_step_says_the_presskit_is_up_to_date(language, catalogue):
    reply = compose_reply(ask(ReplyKind.EDIT_DONE, 4, None, language=language, answer="Sevilla"))
    assert reply == catalogue.edit_done_complete.format(label=texts(catalogue, 4).label, value="Sevilla")


def test_complete_acknowledges_the_last_answer_and_congratulates_by_name(language, catalogue):
    answer = PLAIN_ANSWERS[7]
    reply = compose_reply(ask(ReplyKind.COMPLETE, 7, None, language=language, answer=answer))
    closing = catalogue.complete.format(name=NAME)
    assert reply.endswith(" " + closing)
    assert reply.removesuffix(" " + closing) in acknowledgements(catalogue, 7, answer)
    assert answer in reply and NAME in reply


def test_already_complete_greets_by_name_and_offers_the_optional_sections(language, catalogue):
    reply = compose_reply(ask(ReplyKind.ALREADY_COMPLETE, TOTAL_STEPS, None, language=language))
    assert reply == f"{catalogue.already_complete.format(name=NAME)} {catalogue.sections_offer}"


@pytest.mark.parametrize("section", ["dates", "quotes", "sounds_like", "rider"])
def test_each_section_is_asked_acknowledged_and_closed_in_both_languages(language, catalogue, section):
    texts = catalogue.sections[section]
    assert compose_reply(ask(ReplyKind.SECTION_ASK, TOTAL_STEPS, None, language=language, section=section)) == texts.question
    saved = compose_reply(ask(ReplyKind.SECTION_SAVED, TOTAL_STEPS, None, language=language, section=section,
                              answer="Bicep"))
    assert saved.startswith(texts.saved.format(value="Bicep"))
    # A section of several answers asks for another; one of a single answer offers the others.
    assert saved.endswith(catalogue.sections_offer) is (section in ("sounds_like", "rider"))
    reask = compose_reply(ask(ReplyKind.SECTION_REASK, TOTAL_STEPS, None, language=language, section=section,
                              reason_code="too_long", reason_params={"max": 200}))
    assert reask.endswith(texts.question) and "200" in reask
    done = compose_reply(ask(ReplyKind.SECTION_DONE, TOTAL_STEPS, None, language=language, section=section))
    assert done == f"{catalogue.section_done} {catalogue.sections_offer}"


def test_resume_repeats_the_current_question(language, catalogue):
    reply = compose_reply(ask(ReplyKind.RESUME, 2, 5, language=language))
    assert reply == catalogue.resume.format(question=question(catalogue, 5))


def test_restart_asks_the_first_question_again(language, catalogue):
    reply = compose_reply(ask(ReplyKind.RESTART, 1, 1, language=language))
    assert reply == catalogue.restart.format(question=question(catalogue, 1))


# --- choosing the acknowledgement -----------------------------------------------------------


@pytest.mark.parametrize("kind", list(ReplyKind))
def test_the_same_request_always_gets_the_same_reply(kind):
    request = ask(kind, 3, None if kind in {ReplyKind.COMPLETE, ReplyKind.ALREADY_COMPLETE} else 4,
                  answer="5 años", reason_code="experience_unclear")
    assert len({compose_reply(request) for _ in range(5)}) == 1
    assert compose_reply(request) == compose_reply(ask(kind, request.step, request.next_step,
                                                       answer="5 años", reason_code="experience_unclear"))


def test_different_sessions_can_get_different_generic_acknowledgements(catalogue, language):
    replies = {compose_reply(ask(ReplyKind.ADVANCE, 1, 2, language=language, session_id=f"session-{n}",
                                 answer="Luna Roja")) for n in range(20)}
    assert len(replies) > 1
    assert {reply.removesuffix(" " + question(catalogue, 2)) for reply in replies} <= acknowledgements(
        catalogue, 1, "Luna Roja")


@pytest.mark.parametrize(("language", "expected"), [
    ("es", "Techno en el presskit: los promotores lo buscan mucho. Anotado: house, techno."),
    ("en", "Techno in the presskit: promoters look for it a lot. Saved: house, techno."),
])
def test_a_matching_step_pattern_wins_over_the_generic_acknowledgement(language, expected):
    next_question = question(CATALOGUES[language], 3)
    for n in range(20):
        reply = compose_reply(ask(ReplyKind.ADVANCE, 2, 3, language=language, session_id=f"session-{n}",
                                  answer="house, techno"))
        assert reply == f"{expected} {next_question}"


def test_step_patterns_fit_the_answer(language, catalogue):
    # A DJ name and a long career each get their own phrase, whatever the session.
    dj = compose_reply(ask(ReplyKind.ADVANCE, 1, 2, language=language, answer="DJ Luna"))
    veteran = compose_reply(ask(ReplyKind.ADVANCE, 3, 4, language=language, answer="desde 1998"))
    assert dj.startswith(texts(catalogue, 1).patterns[0].reply.format(value="DJ Luna"))
    assert veteran.startswith(texts(catalogue, 3).patterns[0].reply.format(value="desde 1998"))


# --- languages ------------------------------------------------------------------------------


def test_english_replies_come_from_the_english_catalogue():
    reply = compose_reply(ask(ReplyKind.RESTART, 1, 1, language="en"))
    assert reply == "Let's start again. To start, what's your artist name?"


@pytest.mark.parametrize("language", ["fr", "", "pt-br"])
def test_an_unknown_language_falls_back_to_spanish(language):
    request = ask(ReplyKind.ADVANCE, 1, 2, language=language, answer="Luna Roja")
    assert compose_reply(request) == compose_reply(ask(ReplyKind.ADVANCE, 1, 2, language="es", answer="Luna Roja"))
    assert compose_reply(request).endswith(responder_es.CATALOGUE.steps["genres"].question)


def test_both_catalogues_cover_the_same_steps_and_reasons():
    spanish, english = CATALOGUES["es"], CATALOGUES["en"]
    assert set(spanish.steps) == set(english.steps) == {step.field for step in STEPS}
    assert set(spanish.invalid) == set(english.invalid)


@pytest.mark.parametrize("step", range(1, TOTAL_STEPS + 1))
def test_every_acknowledgement_and_pattern_formats_with_value_and_name(language, catalogue, step):
    step_texts = texts(catalogue, step)
    for template in [*step_texts.acknowledgements, *(pattern.reply for pattern in step_texts.patterns)]:
        formatted = template.format(value="VALUE", name="NAME")
        assert formatted and "{" not in formatted


# --- emergency reply and streaming ----------------------------------------------------------


@pytest.mark.parametrize("step", range(1, TOTAL_STEPS + 1))
def test_emergency_reply_is_short_and_ends_with_the_next_question(language, catalogue, step):
    next_step = step + 1 if step < TOTAL_STEPS else None
    reply = emergency_reply(ask(ReplyKind.ADVANCE, step, next_step, language=language))
    assert reply
    if next_step is None:
        assert reply in catalogue.emergency
    else:
        assert reply.endswith(" " + question(catalogue, next_step))
        assert reply.removesuffix(" " + question(catalogue, next_step)) in catalogue.emergency


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", list(ReplyKind))
async def test_streamed_tokens_join_into_the_composed_reply(language, kind):
    request = ask(kind, 2, None if kind == ReplyKind.COMPLETE else 3, language=language,
                  answer="house, techno", reason_code="genres_too_many", reason_params={"count": 6})
    class Collect:
        def __init__(self):
            self.tokens = []

        async def token(self, text):
            self.tokens.append(text)

        async def discard(self):
            self.tokens.clear()

    sink = Collect()
    text = await TemplateResponder(token_delay=0).write(request, sink)
    assert len(sink.tokens) > 1
    assert all(token.strip() for token in sink.tokens)
    assert "".join(sink.tokens) == text == compose_reply(request)
