"""A chat's session with its presskit, read by the compiled query of chat.selectors (the turn, the
socket's handshake, the page and the bio jobs all read it so): the same models the ORM makes, one
query, real row locks, from any thread."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from chat import services
from chat.models import ChatSession
from chat.selectors import chat_session_of, chat_session_stored
from presskit.models import Presskit

ANSWERS = ("Luna <b>Roja</b>", "house, techno melódico", "desde 2014", "Madrid; salas y festivales de España",
           "Empecé pinchando los vinilos de mi padre en Vallecas y hoy toco en festivales de toda España.",
           "@lunaroja soundcloud.com/lunaroja")


def _answered_chat() -> str:
    session_id = str(uuid.uuid4())
    for text in ANSWERS:
        services.answer_submit(session_id=session_id, text=text, new_chat_language="es")
    return session_id


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.django_db
def test_a_stored_chat_comes_with_its_presskit_as_the_orm_makes_them_in_one_query(django_assert_num_queries):
    session_id = _answered_chat()
    expected = ChatSession.objects.select_related("presskit").get(pk=session_id)

    with django_assert_num_queries(1):
        session = chat_session_of(session_id)
        presskit = session.presskit

    assert _values(session) == _values(expected) and _values(presskit) == _values(expected.presskit)
    assert presskit.artist_name == "Luna <b>Roja</b>" and isinstance(presskit.links, list) and presskit.links
    assert session.updated_at.tzinfo is not None and not session._state.adding and session._state.db == "default"
    assert chat_session_stored(uuid.UUID(session_id)).pk == session.pk  # a UUID as well as its text


@pytest.mark.django_db
def test_an_unknown_chat_is_none_or_not_stored_and_a_malformed_id_is_refused():
    unknown = str(uuid.uuid4())
    assert chat_session_of(unknown) is None
    with pytest.raises(ChatSession.DoesNotExist):
        chat_session_stored(unknown)
    with pytest.raises(ValidationError):
        chat_session_of("not-a-chat")


@pytest.mark.django_db(transaction=True)
def test_the_locking_read_is_refused_outside_a_transaction_and_holds_both_rows_inside_one():
    session_id = _answered_chat()
    with pytest.raises(TransactionManagementError):
        chat_session_of(session_id, lock=True)

    presskit_id = ChatSession.objects.get(pk=session_id).presskit_id
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert chat_session_of(session_id, lock=True).presskit_id == presskit_id
        if connection.vendor != "postgresql":  # SQLite locks the whole database, and has no FOR UPDATE
            assert "FOR UPDATE" not in queries[-1]["sql"]
            return
        assert "FOR UPDATE" in queries[-1]["sql"]
        refused = []

        def try_to_lock(model, pk) -> None:  # another connection, as another chat's turn would be
            try:
                with transaction.atomic():
                    model.objects.select_for_update(nowait=True).get(pk=pk)
            except DatabaseError:
                refused.append(model.__name__)
            finally:
                connection.close()

        for model, pk in ((ChatSession, session_id), (Presskit, presskit_id)):
            other = threading.Thread(target=try_to_lock, args=(model, pk))
            other.start()
            other.join()
    assert refused == ["ChatSession", "Presskit"]


@pytest.mark.django_db(transaction=True)
def test_each_thread_reads_through_its_own_connection():
    chats = [_answered_chat() for _ in range(3)]

    def read(session_id: str) -> str:
        try:
            return str(chat_session_of(session_id).presskit.artist_name)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=3) as threads:
        names = list(threads.map(read, chats * 4))
    assert names == ["Luna <b>Roja</b>"] * 12
