"""Events of the presskit that other apps may follow without the presskit knowing them.

`presskit_changed(presskit_id=…)`: the presskit changed outside the artist's own request (a worker
stored its photo, staff took its page down). The chat shows it on the artist's open pages
(chat.apps connects `chat.groups.presskit_push`). A receiver's failure is logged, never the
sender's: the change itself is saved, a page loaded later shows it.
"""
import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

presskit_changed = Signal()


def presskit_changed_send(*, presskit_id: str) -> None:
    for receiver, outcome in presskit_changed.send_robust(sender=None, presskit_id=presskit_id):
        if isinstance(outcome, Exception):
            logger.warning("presskit %s: %s failed on presskit_changed: %r", presskit_id,
                           getattr(receiver, "__qualname__", receiver), outcome)
