"""What the data providers answered for a line: kept by the desk, played back.

A decision depends on what the host's systems said at the time: stock levels,
supplier terms...  The desk records those answers, per line, on a
:class:`Tape` handed to the evaluation; a replay of the history plays the
same tape back, so it decides from what the desk knew then without asking
the host again.  Every data-provider call goes through
:meth:`~returnrules.plugin.hooks.Hooks.first`, which is where a line's tape
listens.

An answer is kept as plain data: the hook, its arguments, and the answer's
class and fields (an attrs record such as ``StockLevel``).  Played back, the
record is rebuilt - and checked - with the strict converter, from a class
that must already be loaded (a plugin's): nothing from a ledger is imported or
run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from returnrules.model.convert import structure_data
from returnrules.model.decision import jsonable
from returnrules.model.errors import RequestError

__all__ = ["Recorded", "Tape"]


@attrs.frozen
class Recorded:
    """One provider answer: ``hook(**args)`` gave ``answer`` (plain data)."""

    hook: str
    args: Mapping[str, Any]
    answer: Mapping[str, Any] | None
    """``{"type": "module:QualName", "fields": {...}}``, or None for no answer."""

    def to_dict(self) -> dict[str, Any]:
        return {"hook": self.hook, "args": dict(self.args), "answer": self.answer}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Recorded:
        return cls(value["hook"], value["args"], value["answer"])

    @property
    def lookup(self) -> tuple[str, str]:
        return self.hook, _args_key(self.args)


def _args_key(args: Mapping[str, Any]) -> str:
    return repr(sorted(args.items()))


_PLAIN: Final = (str, int, bool, type(None))


def _plain_args(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The provider's arguments but the line context, if all are plain values."""
    args = {k: v for k, v in kwargs.items() if k != "context"}
    if all(isinstance(v, _PLAIN) for v in args.values()):
        return args
    return None


def _kept(answer: object) -> Mapping[str, Any] | None:
    if answer is None:
        return None
    cls = type(answer)
    if not attrs.has(cls):
        return {"type": None, "repr": repr(answer)[:200]}
    fields = attrs.asdict(answer, recurse=False)  # type: ignore[arg-type]
    return {"type": f"{cls.__module__}:{cls.__qualname__}", "fields": jsonable(fields)}


def _rebuilt(kept: Mapping[str, Any]) -> object:
    """The answer again, from a class already loaded; LookupError if it cannot be."""
    module, _, name = str(kept.get("type")).partition(":")
    loaded = sys.modules.get(module)
    cls = (
        getattr(loaded, name, None) if loaded is not None and "." not in name else None
    )
    if not isinstance(cls, type) or not attrs.has(cls):
        raise LookupError(f"cannot rebuild a {kept.get('type')} answer")
    fields = kept["fields"]
    key = (cls, repr(fields))  # decoded JSON: its repr is the content
    hit = _REBUILT.get(key)
    if hit is not None:
        return hit
    try:
        value = structure_data(fields, cls)
    except RequestError as exc:
        raise LookupError(f"a recorded {name} no longer checks: {exc}") from None
    if len(_REBUILT) >= _REBUILT_MAX:
        _REBUILT.clear()
    _REBUILT[key] = value
    return value


_REBUILT: dict[tuple[type, str], object] = {}
"""Answers rebuilt, by class and content: a replay plays the same supplier
terms and stock records back for request after request, and the strict
converter costs more than the rest of the playback.  Shared as the records
of one :class:`~returnrules.Data` are shared by the lines of a batch."""
_REBUILT_MAX: Final = 4096


class Tape:
    """The provider answers of one line, being recorded or played back.

    ``Tape()`` records: every answer is asked of the providers and kept in
    :attr:`answers`.  ``Tape(answers)`` plays back: an answer recorded for the
    same hook and arguments is returned without asking; anything else (a new
    policy asking something the old one did not) is asked and kept.
    :meth:`playback` plays back and keeps nothing: a replay's.
    """

    __slots__ = ("_keep", "_recorded", "answers")

    def __init__(self, answers: Iterable[Recorded] = ()) -> None:
        self.answers: list[Recorded] = []
        self._recorded: Mapping[tuple[str, str], Recorded] = {
            a.lookup: a for a in answers
        }
        self._keep = True

    @staticmethod
    def index(answers: Iterable[Recorded]) -> Mapping[tuple[str, str], Recorded]:
        """Recorded answers by what asked them: a :meth:`playback` tape's."""
        return {a.lookup: a for a in answers}

    @classmethod
    def playback(cls, index: Mapping[tuple[str, str], Recorded]) -> Tape:
        """A tape that plays the answers of *index* (see :meth:`index`) back
        and keeps nothing in :attr:`answers`.  *index* is only read, so the
        lines of a replay that recorded the same answers share one."""
        tape = cls.__new__(cls)
        tape.answers = []
        tape._recorded = index
        tape._keep = False
        return tape

    def first(self, caller: Callable[..., Any], hook: str, kwargs: Any) -> Any:
        """``caller(**kwargs)``, or the answer on the tape; the answer is kept."""
        args = _plain_args(kwargs)
        if args is None:  # arguments the tape cannot key: ask, keep nothing
            return caller(**kwargs)
        found = self._recorded.get((hook, _args_key(args)))
        if found is not None:
            if found.answer is None:
                answer: object = None
            else:
                try:
                    answer = _rebuilt(found.answer)
                except LookupError:
                    answer = caller(**kwargs)
        else:
            answer = caller(**kwargs)
        if self._keep:
            self.answers.append(Recorded(hook, args, _kept(answer)))
        return answer
