"""The rule that decides whether a model's reply already asked the next question (else the
question is added): the reply must move the chat on, and never ask twice."""
from __future__ import annotations

import pytest

from chat.prompts import question_asked
from chat.steps import TOTAL_STEPS
from chat.texts import question

STEPS_AND_LANGUAGES = [(step, language) for step in range(1, TOTAL_STEPS + 1) for language in ("es", "en")]


@pytest.mark.parametrize(("step", "language"), STEPS_AND_LANGUAGES)
def test_a_reply_that_ends_with_the_question_asked_it(step, language):
    asked = question(language, step)
    assert question_asked(f"¡Gracias, Luna Roja! {asked}", asked)


@pytest.mark.parametrize(("step", "language"), STEPS_AND_LANGUAGES)
def test_a_reply_that_only_acknowledges_did_not(step, language):
    assert not question_asked("¡Gracias, Luna Roja! Lo tengo anotado.", question(language, step))


@pytest.mark.parametrize(("step", "language"), STEPS_AND_LANGUAGES)
def test_the_question_in_other_case_and_spacing_still_counts(step, language):
    asked = question(language, step)
    first_sentence = asked.split(":")[0] if "?" not in asked else asked
    assert question_asked(f"Perfecto.\n\n{first_sentence.upper()}  …", asked)


def test_a_question_of_the_model_own_counts_as_asking():
    assert question_asked("Genial. ¿Me cuentas cómo empezaste?", question("es", 5))


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_bio_prompt_asks_for_the_one_liner_with_the_short_and_long_bio(language):
    from chat.prompts import BIO_LABELS, ONE_LINER_MAX_WORDS, build_prompt
    from chat.providers.base import ReplyKind, ReplyRequest

    prompt = build_prompt(ReplyRequest(session_id="p", language=language, kind=ReplyKind.BIO, step=TOTAL_STEPS,
                                       next_step=None, artist_name="Luna Roja",
                                       answers={"artist_name": "Luna Roja", "genres": "house", "location": "Madrid"}))
    assert prompt.user.endswith("\n".join(f"{label} …" for label in BIO_LABELS[language]))
    assert f" {ONE_LINER_MAX_WORDS} " in prompt.system and ("hashtags" in prompt.system)
