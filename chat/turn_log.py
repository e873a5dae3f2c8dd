"""What happened during one turn's reply: each AI request and each recovery step, collected
while the reply is written and handed to the AI request log after the artist has it."""
from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from django.db import connection

from resilience.ai_log import ai_log_write
from resilience.ai_records import AIRequestRecord, RecoveryRecord, RecoveryStrategy
from resilience.metrics import ai_request_observe


@dataclass
class TurnLog:
    session_id: str
    step: int | None
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    requests: list[AIRequestRecord] = field(default_factory=list)
    recoveries: list[RecoveryRecord] = field(default_factory=list)
    _recovery_started: dict[int, float] = field(default_factory=dict)

    def request(self, record: AIRequestRecord) -> None:
        self.requests.append(record)
        ai_request_observe(record.provider, str(record.status), record.latency_ms / 1000)

    def recovery_start(self, strategy: RecoveryStrategy, action: str) -> int:
        """Note a recovery step; its success is known later (`recovery_end`)."""
        self.recoveries.append(RecoveryRecord(self.turn_id, strategy, len(self.recoveries) + 1, action, False, 0))
        index = len(self.recoveries) - 1
        self._recovery_started[index] = time.monotonic()
        return index

    def recovery_end(self, index: int, success: bool) -> None:
        duration_ms = int((time.monotonic() - self._recovery_started.pop(index)) * 1000)
        self.recoveries[index] = replace(self.recoveries[index], success=success, duration_ms=duration_ms)

    def finished(self, *, fallback_used: bool) -> tuple[list[AIRequestRecord], list[RecoveryRecord]]:
        for index in list(self._recovery_started):
            self.recovery_end(index, False)
        return [replace(record, fallback_used=fallback_used) for record in self.requests], self.recoveries


current_turn_log: ContextVar[TurnLog | None] = ContextVar("current_turn_log", default=None)


def turn_log_write(log: TurnLog, *, fallback_used: bool) -> None:
    """Write what was collected to the AI request log. Blocking: run it in a worker thread of its
    own (not the one Channels gives database calls), whose connection it closes."""
    requests, recoveries = log.finished(fallback_used=fallback_used)
    if not requests and not recoveries:
        return
    try:
        ai_log_write(requests=requests, recoveries=recoveries)
    finally:
        connection.close()  # this worker thread's own connection (back to the pool)
