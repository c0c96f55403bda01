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
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Final

import attrs

from returnrules.model.convert import structure_data
from returnrules.model.decision import jsonable
from returnrules.model.errors import RequestError

__all__ = ["Index", "Recorded", "Tape"]


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
    def lookup(self) -> tuple[str, Hashable]:
        return self.hook, _args_key(self.args)


def _args_key(args: Mapping[str, Any]) -> Hashable:
    """The arguments as a key: each name with its value and the value's class
    (``1`` and ``True`` are equal in Python, not to a provider)."""
    if len(args) == 1:  # the usual provider: one SKU, one supplier
        for name, value in args.items():
            return (name, value.__class__, value)
    return tuple(sorted([(k, v.__class__, v) for k, v in args.items()]))


_PLAIN: Final = (str, int, bool, type(None))


def _plain_args(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The provider's arguments but the line context, if all are plain values."""
    args = {}
    for name, value in kwargs.items():
        if name != "context":
            if not isinstance(value, _PLAIN):
                return None
            args[name] = value
    return args


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

    __slots__ = ("_index", "_keep", "answers")

    def __init__(self, answers: Iterable[Recorded] = ()) -> None:
        self.answers: list[Recorded] = []
        self._index = Index(answers)
        self._keep = True

    @classmethod
    def playback(cls, index: Index) -> Tape:
        """A tape that plays the answers of *index* back and keeps nothing in
        :attr:`answers`: a replay's.  The lines of a replay that recorded the
        same answers share one index, and each answer is rebuilt once."""
        tape = cls.__new__(cls)
        tape.answers = []
        tape._index = index
        tape._keep = False
        return tape

    def first(self, caller: Callable[..., Any], hook: str, kwargs: Any) -> Any:
        """``caller(**kwargs)``, or the answer on the tape; the answer is kept."""
        args = _plain_args(kwargs)
        if args is None:  # arguments the tape cannot key: ask, keep nothing
            return caller(**kwargs)
        found = self._index.answer((hook, _args_key(args)))
        answer = caller(**kwargs) if found is _ASK else found
        if self._keep:
            self.answers.append(Recorded(hook, args, _kept(answer)))
        return answer


_ASK: Final = object()
"""What :meth:`Index.answer` gives when the providers must be asked."""


class Index:
    """Recorded answers by what asked them (hook and arguments), and each
    answer rebuilt once it has been played back."""

    __slots__ = ("_rebuilt", "recorded")

    def __init__(self, answers: Iterable[Recorded] = ()) -> None:
        self.recorded: dict[tuple[str, Hashable], Recorded] = {}
        for answer in answers:
            try:
                self.recorded[answer.lookup] = answer
            except TypeError:  # arguments no provider call has (a list...):
                continue  # never asked for, as no call could match them
        self._rebuilt: dict[tuple[str, Hashable], object] = {}

    def __len__(self) -> int:
        return len(self.recorded)

    def answer(self, lookup: tuple[str, Hashable]) -> object:
        """The recorded answer to *lookup*, rebuilt; :data:`_ASK` when nothing
        was recorded for it, or what was recorded no longer rebuilds."""
        hit = self._rebuilt.get(lookup, _ASK)
        if hit is not _ASK:
            return hit
        found = self.recorded.get(lookup)
        if found is None:
            return _ASK
        if found.answer is None:
            answer: object = None
        else:
            try:
                answer = _rebuilt(found.answer)
            except LookupError:
                return _ASK  # asked every time: never the record's
        self._rebuilt[lookup] = answer
        return answer
