"""What a turn's last fragment swaps in the draft panel: during the seven steps only the panel's
summary, steps and restart button (the photos, sections and publishing parts change by their own
fragments); the turn that finishes the presskit, any turn after it, and a restart of a finished
one, the whole panel."""
import pytest

from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import answer, send_and_collect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

STEPS_ONLY = ('<summary id="draft-summary"', '<ol id="draft-steps"', '<div id="draft-restart"')


def swaps_steps_only(frame: str) -> bool:
    return all(f'{tag} class' in frame and "hx-swap-oob" in frame for tag in STEPS_ONLY) and 'id="draft"' not in frame


def swaps_whole_panel(frame: str) -> bool:
    return '<aside id="draft" class="draft" aria-labelledby="draft-title" hx-swap-oob="true">' in frame \
        and 'id="photo"' in frame


async def test_a_step_swaps_the_panels_steps_and_finishing_swaps_the_whole_panel(artist, open_chat):
    communicator = await open_chat(artist)
    first = (await answer(communicator, SEVEN_ANSWERS[0]))[-1]
    assert swaps_steps_only(first)
    assert "Tu presskit · 1 de 7" in first and "Luna Roja" in first
    assert 'name="action" value="restart"' in first  # the restart button comes with the first answer
    assert 'id="photo"' not in first and 'id="publish"' not in first

    edit = (await send_and_collect(communicator, {"action": "edit", "step": 1}))[-1]
    assert swaps_steps_only(edit) and "is-editing" in edit
    edited = (await answer(communicator, "Luna Llena"))[-1]
    assert swaps_steps_only(edited) and "Luna Llena" in edited and "is-editing" not in edited

    for text in SEVEN_ANSWERS[1:]:
        frames = await answer(communicator, text)
    assert swaps_whole_panel(frames[-1])  # finished: the bios, sections and publishing appear

    after = (await send_and_collect(communicator, {"action": "edit", "step": 2}))[-1]
    assert swaps_whole_panel(after)
    restart = (await send_and_collect(communicator, {"action": "restart"}))[-1]
    assert swaps_whole_panel(restart) and "Tu presskit · 0 de 7" in restart
    assert 'name="action" value="restart"' not in restart
