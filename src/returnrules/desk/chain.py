"""The event chain: every change of a request's status, append-only, hashed.

Each event's ``hash`` is the SHA-256 of its own fields and the previous
event's hash, and the ``chain`` table keeps the head (the last seq and hash).
``returnrules ledger verify`` walks the events in order and names each one
that was edited (its hash no longer matches its fields), removed (a gap, or
a head past the last event) or reordered (it does not follow the one before).

This makes tampering evident, not impossible: someone who can write the
database could rebuild the whole chain.  Keep the head hash somewhere else too
(``ledger verify`` prints it) - a daily log, an e-mail - and compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

__all__ = ["GENESIS", "ChainProblem", "Event", "event_hash", "verify_chain"]

GENESIS: Final = "0" * 64
"""The hash before the first event."""


@attrs.frozen
class Event:
    """One change: what happened to which request, when, by whom, and why."""

    seq: int
    request_id: str
    at: str
    actor: str
    kind: str
    status: str | None = None
    line: int | None = None
    note: str | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def content(self) -> list[Any]:
        """The fields the hash covers, in a fixed order."""
        return [
            self.seq,
            self.request_id,
            self.at,
            self.actor,
            self.kind,
            self.status,
            self.line,
            self.note,
            self.prev_hash,
        ]

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def row(self) -> tuple[Any, ...]:
        """Its fields in order: the ``events`` table's columns."""
        return (*self.content(), self.hash)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Event:
        return cls(*row)


def event_hash(event: Event) -> str:
    """SHA-256 of the event's content (its previous hash included)."""
    return _digest(event.content())


_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _digest(content: list[Any]) -> str:
    return hashlib.sha256(_ENCODE(content).encode()).hexdigest()


def chained(events: Iterable[Event], seq: int, head: str) -> list[Event]:
    """*events* numbered after *seq* and hashed after *head*, in order."""
    out = []
    for e in events:
        seq += 1
        fields = (seq, e.request_id, e.at, e.actor, e.kind, e.status, e.line, e.note)
        hashed = _digest([*fields, head])
        out.append(Event(*fields, head, hashed))
        head = hashed
    return out


@attrs.frozen
class ChainProblem:
    """Something wrong with the chain at event *seq*."""

    seq: int
    kind: str  # edited | removed | reordered
    message: str

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def verify_chain(
    events: Iterable[Event], head_seq: int, head_hash: str
) -> list[ChainProblem]:
    """Every problem of the chain *events* (in seq order) against its head."""
    problems: list[ChainProblem] = []
    expected_seq, expected_prev = 1, GENESIS
    hashes: dict[str, int] = {}
    last: Event | None = None
    for event in events:
        where = f"event {event.seq} ({event.kind} of {event.request_id})"
        if event_hash(event) != event.hash:
            problems.append(
                ChainProblem(
                    event.seq, "edited", f"{where} was edited: its hash does not match"
                )
            )
        if event.seq != expected_seq:
            missing = (
                f"{expected_seq}" if event.seq == expected_seq + 1
                else f"{expected_seq} to {event.seq - 1}"
            )  # fmt: skip
            problems.append(
                ChainProblem(
                    expected_seq,
                    "removed",
                    f"event {missing} before {where} is missing",
                )
            )
        elif event.prev_hash != expected_prev:
            if event.prev_hash in hashes:
                message = (
                    f"{where} is out of order: it follows event "
                    f"{hashes[event.prev_hash]}, not the one before it"
                )
                problems.append(ChainProblem(event.seq, "reordered", message))
            else:
                problems.append(
                    ChainProblem(
                        event.seq,
                        "removed",
                        f"{where} does not follow the event before it: an event "
                        "was removed or replaced",
                    )
                )
        hashes[event.hash] = event.seq
        expected_seq, expected_prev = event.seq + 1, event.hash
        last = event
    last_seq = 0 if last is None else last.seq
    if head_seq > last_seq:
        problems.append(
            ChainProblem(
                last_seq + 1,
                "removed",
                f"events {last_seq + 1} to {head_seq} are missing: the chain's head "
                f"is at event {head_seq}",
            )
        )
    elif last is not None and (head_seq, head_hash) != (last.seq, last.hash):
        problems.append(
            ChainProblem(
                last.seq,
                "edited",
                f"the chain's head (event {head_seq}) does not match its last event",
            )
        )
    return problems
