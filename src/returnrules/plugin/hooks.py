"""The one way returnrules calls its plugins: a typed facade over ``pm.hook``.

Every call into a plugin goes through :class:`Hooks` (tox keeps one typed
method per hook the same way), so ``mypy --strict`` sees real types past
pluggy's untyped ``pm.hook.NAME(...)``, and every call is pluggy's own:
``tryfirst``/``trylast``, wrappers and ``firstresult`` work as pluggy says.

The registration hooks and ``returnrules_check_data`` are called **once per
plugin** (pluggy's ``subset_hook_caller`` with the other plugins' plain
implementations left out, every wrapper kept), so each registered name and
each problem is attributed to the plugin that gave it, and one plugin that
fails cannot hide the others' answers.

What a plugin may raise without stopping anything: :func:`is_fault`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import pluggy

from returnrules.model.errors import RequestProblem
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Action, Check, Fact, ReadOnlyMapping
from returnrules.plugin.execute import Executor, LedgerTable

__all__ = ["Answer", "Hooks", "describe", "is_fault", "problems_of"]


def is_fault(exc: BaseException) -> bool:
    """Is *exc* a plugin's failure, to be contained (not ``KeyboardInterrupt``)?

    Everything a plugin raises is its own failure, reported and contained: a
    plugin calling ``sys.exit()`` or raising its own ``BaseException``
    subclass is a broken plugin, not a request to end the process.  Only
    ``KeyboardInterrupt`` (the person at the terminal) goes through.
    """
    return not isinstance(exc, KeyboardInterrupt)


def describe(exc: BaseException) -> str:
    """``"RuntimeError: stock service down"``: an exception for a message."""
    try:
        text = str(exc)
    except BaseException as inner:  # a broken __str__ is a fault too
        if not is_fault(inner):
            raise
        text = f"<unprintable {type(exc).__name__}>"
    if len(text) > 500:
        text = text[:500] + f"… ({len(text)} characters)"
    return f"{type(exc).__name__}: {text}"


@attrs.frozen
class Answer:
    """One plugin's answer to a hook called plugin by plugin."""

    plugin: str
    value: Any = None
    error: BaseException | None = None


class Hooks:
    """Typed calls of the hooks of one plugin manager.

    ``ctx.hook`` at evaluation time; :func:`returnrules.plugin.manager.load_registry`
    builds it.
    """

    __slots__ = ("_pm", "_relay")

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self._relay = pm.hook

    @property
    def manager(self) -> pluggy.PluginManager:
        """The pluggy plugin manager itself."""
        return self._pm

    def __repr__(self) -> str:
        names = sorted(name for name, _ in self._pm.list_name_plugin())
        return f"<Hooks {', '.join(names)}>"

    # -- data providers, at evaluation time ----------------------------------------

    def first(self, hook: str, /, **kwargs: Any) -> Any:
        """Call a ``firstresult`` hook a plugin declared (``returnrules_addhooks``).

        ``ctx.hook.first("returnrules_stock_level", sku=sku, context=ctx)``: the
        first non-None answer of the implementations, in pluggy's order.  When
        the line has a :class:`~returnrules.plugin.tape.Tape` (the desk), the
        answer is kept on it, or played back from it.
        """
        caller: Any = getattr(self._relay, hook)
        tape = getattr(kwargs.get("context"), "tape", None)
        if tape is not None:  # the desk keeps (or plays back) what was answered
            return tape.first(caller, hook, kwargs)
        impls = caller.get_hookimpls()  # asked every time: a late provider counts
        if len(impls) == 1 and not (impls[0].hookwrapper or impls[0].wrapper):
            # What pluggy's call does for one plain implementation, without
            # its bookkeeping (about 1 µs): the arguments it names, in order.
            impl = impls[0]
            return impl.function(*[kwargs[name] for name in impl.argnames])
        return caller(**kwargs)

    # -- one plugin at a time --------------------------------------------------------

    def each(
        self,
        hook: str,
        arguments: Callable[[str], Mapping[str, Any]],
        collect: Callable[[Any], Any] = lambda results: results,
    ) -> Iterator[Answer]:
        """Call *hook* once for each plugin that implements it, in registration order.

        *arguments* gives the keyword arguments for a plugin (by name);
        *collect* turns that plugin's list of results into its answer while a
        failure is still the plugin's (a generator of problems raises only when
        read).  Wrappers of the hook wrap every one of these calls.
        """
        caller = getattr(self._relay, hook)
        impls = caller.get_hookimpls()
        plain = [i for i in impls if not (i.wrapper or i.hookwrapper)]
        for impl in plain:
            others = [i.plugin for i in plain if i is not impl]
            one = self._pm.subset_hook_caller(hook, remove_plugins=others)
            try:
                answer = collect(one(**arguments(impl.plugin_name)))
            except BaseException as exc:  # contained, see is_fault
                if not is_fault(exc):
                    raise
                yield Answer(impl.plugin_name, error=exc)
                continue
            yield Answer(impl.plugin_name, answer)

    def addhooks(self) -> Iterator[Answer]:
        """``returnrules_addhooks(pluginmanager)``, plugin by plugin."""
        return self.each("returnrules_addhooks", lambda _: {"pluginmanager": self._pm})

    def register_vocabularies(
        self, register_for: Callable[[str], Callable[[Vocabulary], None]]
    ) -> Iterator[Answer]:
        """``returnrules_register_vocabularies(register)``, plugin by plugin."""
        return self.each(
            "returnrules_register_vocabularies",
            lambda plugin: {"register": register_for(plugin)},
        )

    def register_facts(
        self, register_for: Callable[[str], Callable[[Fact], None]]
    ) -> Iterator[Answer]:
        """``returnrules_register_facts(register)``, plugin by plugin."""
        return self.each(
            "returnrules_register_facts",
            lambda plugin: {"register": register_for(plugin)},
        )

    def register_checks(
        self, register_for: Callable[[str], Callable[[Check[Any]], None]]
    ) -> Iterator[Answer]:
        """``returnrules_register_checks(register)``, plugin by plugin."""
        return self.each(
            "returnrules_register_checks",
            lambda plugin: {"register": register_for(plugin)},
        )

    def register_actions(
        self, register_for: Callable[[str], Callable[[Action[Any]], None]]
    ) -> Iterator[Answer]:
        """``returnrules_register_actions(register)``, plugin by plugin."""
        return self.each(
            "returnrules_register_actions",
            lambda plugin: {"register": register_for(plugin)},
        )

    def register_executors(
        self, register_for: Callable[[str], Callable[[Executor], None]]
    ) -> Iterator[Answer]:
        """``returnrules_register_executors(register)``, plugin by plugin."""
        return self.each(
            "returnrules_register_executors",
            lambda plugin: {"register": register_for(plugin)},
        )

    def register_ledger_tables(
        self, register_for: Callable[[str], Callable[[LedgerTable], None]]
    ) -> Iterator[Answer]:
        """``returnrules_register_ledger_tables(register)``, plugin by plugin."""
        return self.each(
            "returnrules_register_ledger_tables",
            lambda plugin: {"register": register_for(plugin)},
        )

    def check_data(
        self, data: ReadOnlyMapping, vocabularies: Mapping[str, Vocabulary]
    ) -> Iterator[Answer]:
        """``returnrules_check_data``, plugin by plugin; each answer a list of
        what that plugin returned."""
        arguments = {"data": data, "vocabularies": vocabularies}
        return self.each(
            "returnrules_check_data",
            lambda _: arguments,
            lambda results: [p for answer in results for p in (answer or ())],
        )


def problems_of(answers: Iterator[Answer], hook: str) -> list[RequestProblem]:
    """The problems of ``check_data`` answers; a failure names its plugin."""
    problems: list[RequestProblem] = []
    for answer in answers:
        where = f'plugin "{answer.plugin}" failed in {hook}'
        if answer.error is not None:
            message = f"{where}: {describe(answer.error)}"
            problems.append(RequestProblem((), message, "plugin-failed"))
            continue
        for problem in answer.value:
            if not isinstance(problem, RequestProblem):
                problem = RequestProblem(
                    (),
                    f"{where}: returned {_short(problem)}, not a RequestProblem",
                    "plugin-failed",
                )
            problems.append(problem)
    return problems


def _short(value: object) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a broken __repr__ is a fault too
        if not is_fault(exc):
            raise
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."
