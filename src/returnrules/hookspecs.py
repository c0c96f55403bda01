"""The hook specifications: everything a plugin can add to returnrules.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose
names are the hooks below.  The register hooks are handed a ``register``
callback; each call adds one named thing that ``rules.toml`` can then use::

    from returnrules import Check, hookimpl

    @hookimpl
    def returnrules_register_checks(register):
        register(Check("is_vip", test=lambda ctx, params: ctx.line.qty > 1))

Plugins that need data from the host system (stock levels, supplier terms)
declare their own ``firstresult`` hooks in :func:`returnrules_addhooks`, so a
host answers them from its database with an ``@hookimpl`` of the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pluggy

from returnrules.model.errors import RequestProblem
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Action, Check, Fact
from returnrules.plugin.execute import Executor, LedgerTable

__all__ = ["PROJECT", "hookimpl"]

PROJECT = "returnrules"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def returnrules_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add a plugin's own hook specifications (``pluginmanager.add_hookspecs``).

    Called once for every plugin, right after all plugins are registered and
    before the registration hooks below.  Use it to declare data-provider hooks
    (``firstresult=True``) that a host system implements.
    """


@hookspec
def returnrules_register_vocabularies(register: Callable[[Vocabulary], None]) -> None:
    """Register vocabularies (sets of codes with labels) for enum facts.

    Called once per plugin manager, before facts are registered.  Registering
    a name twice is an error naming both plugins.
    """


@hookspec
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    """Register facts: named, typed values about a return line.

    Called once per plugin manager.  A fact's resolver runs lazily, at most
    once per line; an optional fact returns ``None`` when absent.
    """


@hookspec
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    """Register checks usable in a rule's ``when`` as ``{ check = "NAME" }``.

    Called once per plugin manager.  The check's ``params`` attrs class declares
    its typed parameters; the policy loader validates them before evaluation.
    """


@hookspec
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    """Register actions usable in a rule's ``then`` as ``{ action = "NAME" }``.

    Called once per plugin manager.  ``multiple=False`` actions (refund,
    restock...) happen once per line, the highest-priority rule winning;
    ``multiple=True`` actions (notify) keep every distinct occurrence.
    """


@hookspec
def returnrules_check_data(
    data: Mapping[str, Any], vocabularies: Mapping[str, Vocabulary]
) -> Iterable[RequestProblem] | None:
    """Check the part of a ``--data`` mapping that this plugin reads.

    Called by ``Policy.check_data`` (the CLI calls it once per data file, not
    per request) with the policy's *vocabularies*, so codes in the data can be
    checked too.  Return the problems found, each with its key path inside
    *data* (``("stock", "BOSCH-0986494", "on_hand")``), or nothing.
    """


@hookspec
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    """Register executors: the code that carries out a decided action.

    Called once per plugin manager.  The desk (``returnrules submit``) runs the
    executor of each planned action exactly once, after the decision is
    recorded, handing it the action's fields and idempotency key.  An action
    without an executor is recorded as failed when the desk meets it.
    ``Executor(..., replaces=True)`` takes over an action another plugin
    already executes (a host replacing a standard executor).
    """


@hookspec
def returnrules_register_ledger_tables(register: Callable[[LedgerTable], None]) -> None:
    """Register tables an executor keeps its effects in, in the desk's ledger.

    Called once per plugin manager.  ``returnrules db upgrade`` (and opening a
    new ledger) creates them, and adds the columns a newer version of the
    plugin declares.  Executors fill them with ``execution.record(...)``.
    """
