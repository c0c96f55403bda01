"""Playing recorded provider answers back: rebuilt and checked by the strict
converter, once per content, never from another class's record."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from returnrules.plugin.tape import Index, Recorded, Tape
from returnrules_std.stock import StockLevel


def played(answer: dict[str, Any]) -> object:
    recorded = Recorded("returnrules_stock_level", {"sku": "X"}, answer)
    tape = Tape([recorded])

    def ask(**kwargs: Any) -> object:
        raise AssertionError("a recorded answer is not asked again")

    return tape.first(ask, "returnrules_stock_level", {"sku": "X", "context": None})


def kept(on_hand: object) -> dict[str, Any]:
    return {
        "type": "returnrules_std.stock:StockLevel",
        "fields": {"on_hand": on_hand, "reserved": 0},
    }


def test_the_same_answer_is_rebuilt_once_and_played_back_on_every_tape() -> None:
    first, second = played(kept(7)), played(kept(7))
    assert first == StockLevel(on_hand=7)
    assert second is first  # rebuilt once, shared like a Data's records
    other = played(kept(8))
    assert other == StockLevel(on_hand=8)
    assert other is not first


def test_an_answer_that_no_longer_checks_is_asked_again() -> None:
    recorded = Recorded("returnrules_stock_level", {"sku": "X"}, kept(-1))
    asked: list[dict[str, Any]] = []

    def ask(**kwargs: Any) -> object:
        asked.append(kwargs)
        return StockLevel(on_hand=3)

    tape = Tape([recorded])
    answer = tape.first(ask, "returnrules_stock_level", {"sku": "X", "context": None})
    assert answer == StockLevel(on_hand=3)
    assert asked == [{"sku": "X", "context": None}]


@attrs.frozen
class Lookalike:
    on_hand: int
    reserved: int = 0


def test_a_record_of_another_class_is_not_taken_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import returnrules_std.stock as stock

    assert played(kept(5)) == StockLevel(on_hand=5)
    monkeypatch.setattr(stock, "StockLevel", Lookalike)  # a plugin reloaded
    again = played(kept(5))
    assert type(again) is Lookalike


def test_a_playback_tape_plays_back_and_keeps_nothing() -> None:
    index = Index([Recorded("returnrules_stock_level", {"sku": "X"}, kept(7))])
    asked: list[str] = []

    def ask(**kwargs: Any) -> object:
        asked.append(kwargs["sku"])
        return StockLevel(on_hand=1)

    tape = Tape.playback(index)
    hook = "returnrules_stock_level"
    assert tape.first(ask, hook, {"sku": "X", "context": None}) == StockLevel(7)
    assert tape.first(ask, hook, {"sku": "Y", "context": None}) == StockLevel(1)
    assert asked == ["Y"]  # what the recording did not know is asked
    assert tape.answers == []  # and nothing is kept: a replay records nothing
    assert len(index) == 1  # the shared index is only read


def test_an_answer_is_played_back_for_the_same_arguments_only() -> None:
    """Keyed by each argument's value and class: ``1`` is not ``True``, and
    two arguments are matched in any order."""
    index = Index(
        [
            Recorded("hook_a", {"n": 1}, kept(1)),
            Recorded("hook_b", {"sku": "X", "store": "S1"}, kept(2)),
        ]
    )
    asked: list[dict[str, Any]] = []

    def ask(**kwargs: Any) -> object:
        asked.append(kwargs)
        return None

    tape = Tape.playback(index)
    assert tape.first(ask, "hook_a", {"n": 1, "context": None}) == StockLevel(1)
    assert tape.first(ask, "hook_a", {"n": True, "context": None}) is None
    assert tape.first(ask, "hook_a", {"n": 1.0, "context": None}) is None  # not plain
    assert tape.first(ask, "hook_b", {"store": "S1", "sku": "X"}) == StockLevel(2)
    assert asked == [{"n": True, "context": None}, {"n": 1.0, "context": None}]


def test_a_recorded_answer_with_arguments_no_call_has_is_never_played() -> None:
    """A ledger edited by hand may record a list as an argument: a provider is
    only ever called with plain values, so that answer can never be asked
    for, and the tape still plays the others."""
    index = Index(
        [
            Recorded("returnrules_stock_level", {"sku": ["X"]}, kept(1)),
            Recorded("returnrules_stock_level", {"sku": "X"}, kept(2)),
        ]
    )
    assert len(index) == 1
    tape = Tape.playback(index)
    answer = tape.first(None, "returnrules_stock_level", {"sku": "X"})  # type: ignore[arg-type]
    assert answer == StockLevel(2)
