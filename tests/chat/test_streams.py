"""The providers' event streams as read off the wire (chat.providers.streams)."""
from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.providers.streams import Event, server_sent_events


def events_of(lines: list[str]) -> list[Event]:
    async def read() -> list[Event]:
        async def source():
            for line in lines:
                yield line
        return [event async for event in server_sent_events(source())]
    return asyncio.run(read())


def test_comments_fields_and_multi_line_data_are_read_as_the_format_says():
    lines = [": keep-alive", "", "event: message_start", "data: {\"a\":", "data: 1}", "id: 7", "",
             "data:no space", "", "", "retry: 10", "", "data: last, without its blank line"]
    assert events_of(lines) == [Event("message_start", "{\"a\":\n1}"), Event("", "no space"),
                                Event("", "last, without its blank line")]


# Names and data as a server writes them: no line breaks inside a line, no leading space kept.
field_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30).filter(
    lambda text: not text.startswith(" "))


@given(st.lists(st.tuples(field_text, st.lists(field_text, min_size=1, max_size=3)), max_size=8))
def test_any_events_written_in_the_format_are_read_back_whole(written):
    lines = []
    for name, data in written:
        lines += ([f"event: {name}"] if name else []) + [f"data: {part}" for part in data] + [""]
    assert events_of(lines) == [Event(name, "\n".join(data)) for name, data in written]


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", "\"text\"", "null"])
def test_an_event_that_is_not_a_json_object_is_a_malformed_response(data):
    with pytest.raises(ValueError):
        Event("", data).json()
