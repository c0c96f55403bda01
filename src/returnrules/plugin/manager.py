"""Build the plugin manager and collect what the plugins register.

Plugins come from four places, in this order: the core's own built-ins
(:data:`BUILTIN_PLUGINS`), the ``returnrules`` entry-point group (the standard
pack installs there like any third-party plugin), a policy's ``[plugins]
modules`` (files relative to the policy, or importable module names), and
objects passed in code.  ``[plugins] disable`` and the environment variable
``RETURNRULES_DISABLE_PLUGINS`` (comma-separated names) block plugins by name;
``RETURNRULES_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry points.

A policy is a rule author's file, so what it can load is confined: a plugin
*file* it names must lie inside the policy's own directory tree, and a plugin
*module* it names is imported only when the host allows that module
(``load_policy(..., allow_modules=[...])`` or ``RETURNRULES_ALLOW_MODULES``).
Whatever a plugin prints while it is imported goes to stderr, never into the
output a command is writing.

Every call into the plugins goes through :class:`~returnrules.plugin.hooks.Hooks`.

Nothing here raises for a user's mistake: every failure (a plugin that does
not import, a duplicate name, an unknown plugin to disable) becomes an
:class:`~returnrules.model.errors.Issue` naming the plugin.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal

import attrs
import pluggy

from returnrules import hookspecs
from returnrules.model.errors import Issue, PathKey, RequestProblem, did_you_mean
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Action, Check, Fact, ReadOnlyMapping
from returnrules.plugin.execute import Executor, LedgerTable
from returnrules.plugin.hooks import Answer, Hooks, describe, is_fault, problems_of

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Registry",
    "load_registry",
]

BUILTIN_PLUGINS: Final = ("returnrules.plugin.core",)
ENTRY_POINT_GROUP: Final = "returnrules"
ENV_DISABLE: Final = "RETURNRULES_DISABLE_PLUGINS"
ENV_NO_AUTOLOAD: Final = "RETURNRULES_DISABLE_PLUGIN_AUTOLOAD"
ENV_ALLOW_MODULES: Final = "RETURNRULES_ALLOW_MODULES"

AllowModules = bool | Iterable[str]
"""Which plugin modules a policy may name: True any, else these names."""

Origin = Literal["built-in", "entry point", "file", "module", "object"]

_FACT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_THING_NAME = re.compile(r"[a-z][a-z0-9_]*")


@attrs.frozen
class PluginInfo:
    """A loaded plugin: its name, where it came from and what it added."""

    name: str
    origin: Origin
    source: str
    facts: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    vocabularies: tuple[str, ...] = ()
    executors: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()


@attrs.frozen
class Registry:
    """Everything the loaded plugins registered; a policy compiles against it.

    Facts are numbered (``facts[i]``); compiled policies and templates refer to
    them by number, never by name, at evaluation time.
    """

    plugin_manager: pluggy.PluginManager
    plugins: tuple[PluginInfo, ...]
    vocabularies: Mapping[str, Vocabulary]
    facts: tuple[Fact, ...]
    checks: Mapping[str, Check[Any]]
    actions: Mapping[str, Action[Any]]
    executors: Mapping[str, Executor] = attrs.field(factory=dict)
    """The executor of each action, by action name (for the desk)."""
    tables: Mapping[str, LedgerTable] = attrs.field(factory=dict)
    """The ledger tables plugins keep their executors' effects in."""
    hooks: Hooks = attrs.field(init=False)
    """The typed facade every call into the plugins goes through."""
    fact_numbers: Mapping[str, int] = attrs.field(init=False)

    @hooks.default
    def _hooks(self) -> Hooks:
        return Hooks(self.plugin_manager)

    @fact_numbers.default
    def _number_facts(self) -> Mapping[str, int]:
        return {fact.name: i for i, fact in enumerate(self.facts)}

    def fact(self, name: str) -> Fact | None:
        number = self.fact_numbers.get(name)
        return None if number is None else self.facts[number]

    def check_data(
        self, data: ReadOnlyMapping, vocabularies: Mapping[str, Vocabulary]
    ) -> list[RequestProblem]:
        """Every plugin's problems with *data* (hook ``returnrules_check_data``)."""
        return problems_of(
            self.hooks.check_data(data, vocabularies), "returnrules_check_data"
        )


def _env_names(variable: str) -> set[str]:
    return {n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()}


def _import_file(path: Path) -> ModuleType:
    """Import a plugin file under a private module name unique to its path."""
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:12]
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_returnrules_plugin_{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _quietly(target: Callable[[], object]) -> object:
    """Import a plugin with what it prints sent to stderr, not into the output."""
    with contextlib.redirect_stdout(sys.stderr):
        return target()


class _Hashable:
    """A hashable stand-in for a plugin object that is not (a SimpleNamespace, a
    dataclass with eq): pluggy keeps sets of plugins.  It carries the object's
    hook implementations and nothing else."""

    def __init__(self, plugin: object) -> None:
        self.plugin = plugin
        for name in dir(plugin):
            if name.startswith(f"{hookspecs.PROJECT}_"):
                setattr(self, name, getattr(plugin, name))

    def __repr__(self) -> str:
        return repr(self.plugin)


@attrs.define
class _Loader:
    """Collects plugins into a plugin manager, turning failures into issues."""

    pm: pluggy.PluginManager
    blocked: set[str]
    issues: list[Issue] = attrs.field(factory=list)
    infos: dict[str, PluginInfo] = attrs.field(factory=dict)

    def add(
        self, plugin: object, name: str, origin: Origin, source: str, where: PathKey
    ) -> None:
        if name in self.blocked:
            return
        if name in self.infos:
            first = self.infos[name]
            self.issues.append(
                Issue(
                    where,
                    f'duplicate plugin name "{name}": {origin} {source} and '
                    f"{first.origin} {first.source}",
                    "duplicate-plugin",
                )
            )
            return
        try:
            hash(plugin)
        except TypeError:
            plugin = _Hashable(plugin)
        try:
            self.pm.register(plugin, name=name)
        except BaseException as exc:  # pluggy validates hooks here
            if not is_fault(exc):
                raise
            self.issues.append(
                Issue(
                    where,
                    f'plugin "{name}" ({source}) is invalid: {describe(exc)}',
                    "plugin-invalid",
                )
            )
            return
        self.infos[name] = PluginInfo(name, origin, source)

    def failures(self, answers: Iterable[Answer], hook: str) -> None:
        """A hook's failures, plugin by plugin, as issues naming the plugin."""
        for answer in answers:
            if answer.error is not None:
                self.issues.append(
                    Issue(
                        (),
                        f'plugin "{answer.plugin}" failed in {hook}: '
                        f"{describe(answer.error)}",
                        "plugin-failed",
                    )
                )

    def import_or_report(
        self, target: Callable[[], object], name: str, source: str, where: PathKey
    ) -> object | None:
        try:
            return _quietly(target)
        except BaseException as exc:  # contained, see is_fault
            if not is_fault(exc):
                raise
            self.issues.append(
                Issue(
                    where,
                    f'plugin "{name}" ({source}) failed to import: {describe(exc)}',
                    "plugin-import",
                )
            )
            return None


def _module_spec_name(spec: str) -> tuple[str, bool]:
    """A plugin name for a ``[plugins] modules`` entry, and whether it is a file."""
    is_file = spec.endswith(".py") or "/" in spec or "\\" in spec
    if is_file:
        return Path(spec).stem, True
    return spec.rsplit(".", 1)[-1], False


def _distribution_name(ep: importlib.metadata.EntryPoint) -> str:
    """The name of the distribution that declares *ep* (``?`` if unknown).

    Reading it parses the distribution's METADATA file each time (about
    1 ms); a policy load names every entry point, so the name is kept per
    distribution folder for the process.
    """
    dist = ep.dist
    if dist is None:
        return "?"
    folder = getattr(dist, "_path", None)  # where its metadata lies
    if folder is None:
        return str(dist.name)
    name = _DISTRIBUTION_NAMES.get(str(folder))
    if name is None:
        name = _DISTRIBUTION_NAMES[str(folder)] = str(dist.name)
    return name


_DISTRIBUTION_NAMES: dict[str, str] = {}


def _entry_points() -> tuple[importlib.metadata.EntryPoint, ...]:
    """The ``returnrules`` entry points installed, by name.

    Finding them reads every installed distribution's metadata (about 3 ms,
    a fifth of a policy load), so they are kept for the process as long as
    ``sys.path`` is what it was: a plugin installed into a running process
    is found once the process starts again, as pluggy's hosts do.
    """
    key = tuple(sys.path)
    found = _ENTRY_POINTS.get(key)
    if found is None:
        if len(_ENTRY_POINTS) >= 16:  # sys.path changed many times: start over
            _ENTRY_POINTS.clear()
        found = _ENTRY_POINTS[key] = tuple(
            sorted(
                importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                key=lambda e: e.name,
            )
        )
    return found


_ENTRY_POINTS: dict[tuple[str, ...], tuple[importlib.metadata.EntryPoint, ...]] = {}


def load_registry(
    modules: Sequence[str] = (),
    *,
    base_dir: Path | None = None,
    disable: Sequence[str] = (),
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
    allow_modules: AllowModules = (),
) -> tuple[Registry, list[Issue]]:
    """Build a plugin manager and the registry of what its plugins provide.

    *modules* and *disable* come from the policy's ``[plugins]`` table (issues
    are reported at those keys); a file among *modules* must lie in *base_dir*'s
    tree (default: the current directory), a module name must be allowed by
    *allow_modules* (True: any) or ``RETURNRULES_ALLOW_MODULES`` (names, or
    ``*``).  *plugins* are objects passed in code.  The built-in plugins
    cannot be disabled.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loader = _Loader(pm, blocked=set())
    for modname in BUILTIN_PLUGINS:
        loader.add(importlib.import_module(modname), "core", "built-in", modname, ())
    loader.blocked = _env_names(ENV_DISABLE) | set(disable)

    if autoload is None:
        autoload = not os.environ.get(ENV_NO_AUTOLOAD)
    entry_points = _entry_points()
    if autoload:
        for ep in entry_points:
            if ep.name not in loader.blocked:
                source = f"{ep.value} from {_distribution_name(ep)}"
                plugin = loader.import_or_report(ep.load, ep.name, source, ())
                if plugin is not None:
                    loader.add(plugin, ep.name, "entry point", source, ())
    allowed = _allowed_modules(allow_modules)
    for i, spec in enumerate(modules):
        where: PathKey = ("plugins", "modules", i)
        _load_module(loader, spec, base_dir or Path.cwd(), allowed, where)
    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        loader.add(plugin, str(name), "object", repr(plugin), ())

    known = {*loader.infos, *(ep.name for ep in entry_points)}
    known |= {_module_spec_name(m)[0] for m in modules}
    for i, name in enumerate(disable):
        if name not in known:
            hint = did_you_mean(name, known)
            loader.issues.append(
                Issue(
                    ("plugins", "disable", i),
                    f'unknown plugin "{name}"{hint}',
                    "unknown-plugin",
                )
            )

    hooks = Hooks(pm)
    loader.failures(hooks.addhooks(), "returnrules_addhooks")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        loader.issues.append(Issue((), f"invalid plugin: {exc}", "plugin-invalid"))
    return _collect(pm, hooks, loader), loader.issues


def _allowed_modules(allow: AllowModules) -> Literal[True] | frozenset[str]:
    from_env = _env_names(ENV_ALLOW_MODULES)
    if allow is True or "*" in from_env:
        return True
    return frozenset(() if allow is False else allow) | from_env


def _load_module(
    loader: _Loader,
    spec: str,
    base_dir: Path,
    allowed: Literal[True] | frozenset[str],
    where: PathKey,
) -> None:
    """Load one ``[plugins] modules`` entry: a file in the policy's own
    directory tree, or a module name the host allows."""
    name, is_file = _module_spec_name(spec)
    if name in loader.blocked:
        return
    target: Callable[[], object]
    origin: Origin
    if is_file:
        path = base_dir / spec
        root = base_dir.resolve()
        if not path.resolve().is_relative_to(root):
            loader.issues.append(
                Issue(
                    where,
                    f'plugin file "{spec}" is outside the policy\'s directory '
                    f"({root}); a policy loads plugin files from its own tree only",
                    "plugin-outside",
                )
            )
            return
        if not path.is_file():
            loader.issues.append(
                Issue(
                    where,
                    f'plugin file "{spec}" not found (looked for {path})',
                    "plugin-not-found",
                )
            )
            return
        target, origin = functools.partial(_import_file, path), "file"
    else:
        if allowed is not True and spec not in allowed:
            loader.issues.append(
                Issue(
                    where,
                    f'plugin module "{spec}" is not allowed: a policy names plugin '
                    "files in its own directory; an installed module must be allowed "
                    f'by the host (load_policy(..., allow_modules=["{spec}"]) or '
                    f"{ENV_ALLOW_MODULES}={spec})",
                    "module-not-allowed",
                )
            )
            return
        target, origin = functools.partial(importlib.import_module, spec), "module"
    plugin = loader.import_or_report(target, name, spec, where)
    if plugin is not None:
        loader.add(plugin, name, origin, spec, where)


def _collect(pm: pluggy.PluginManager, hooks: Hooks, loader: _Loader) -> Registry:
    vocabularies: dict[str, Vocabulary] = {}
    facts: dict[str, Fact] = {}
    checks: dict[str, Check[Any]] = {}
    actions: dict[str, Action[Any]] = {}
    executors: dict[str, Executor] = {}
    tables: dict[str, LedgerTable] = {}
    owners: dict[tuple[str, str], str] = {}
    added: dict[str, dict[str, list[str]]] = {}

    def registrar(
        kind: str, table: dict[str, Any], expected: type, pattern: re.Pattern[str]
    ) -> Callable[[str], Callable[[Any], None]]:
        def for_plugin(plugin: str) -> Callable[[Any], None]:
            def register(thing: Any) -> None:
                problem = _validate(kind, thing, expected, pattern, vocabularies)
                replacing = isinstance(thing, Executor) and thing.replaces
                if problem is None and thing.name in table and not replacing:
                    problem = (
                        f'{kind} "{thing.name}" is registered by both '
                        f'"{owners[kind, thing.name]}" and "{plugin}"'
                    )
                if problem is not None:
                    loader.issues.append(
                        Issue((), f'plugin "{plugin}": {problem}', "plugin-invalid")
                    )
                    return
                if kind != "vocabulary":
                    thing = attrs.evolve(thing, plugin=plugin)
                table[thing.name] = thing
                owners[kind, thing.name] = plugin
                added.setdefault(plugin, {}).setdefault(kind, []).append(thing.name)

            return register

        return for_plugin

    loader.failures(
        hooks.register_vocabularies(
            registrar("vocabulary", vocabularies, Vocabulary, _THING_NAME)
        ),
        "returnrules_register_vocabularies",
    )
    loader.failures(
        hooks.register_facts(registrar("fact", facts, Fact, _FACT_NAME)),
        "returnrules_register_facts",
    )
    loader.failures(
        hooks.register_checks(registrar("check", checks, Check, _THING_NAME)),
        "returnrules_register_checks",
    )
    loader.failures(
        hooks.register_actions(registrar("action", actions, Action, _THING_NAME)),
        "returnrules_register_actions",
    )
    loader.failures(
        hooks.register_executors(
            registrar("executor", executors, Executor, _THING_NAME)
        ),
        "returnrules_register_executors",
    )
    loader.failures(
        hooks.register_ledger_tables(
            registrar("table", tables, LedgerTable, _THING_NAME)
        ),
        "returnrules_register_ledger_tables",
    )

    infos = []
    for name, info in loader.infos.items():
        mine = added.get(name, {})
        infos.append(
            attrs.evolve(
                info,
                facts=tuple(mine.get("fact", ())),
                checks=tuple(mine.get("check", ())),
                actions=tuple(mine.get("action", ())),
                vocabularies=tuple(mine.get("vocabulary", ())),
                executors=tuple(mine.get("executor", ())),
                tables=tuple(mine.get("table", ())),
            )
        )
    return Registry(
        plugin_manager=pm,
        plugins=tuple(infos),
        vocabularies=vocabularies,
        facts=tuple(facts.values()),
        checks=checks,
        actions=actions,
        executors=executors,
        tables=tables,
    )


def _validate(
    kind: str,
    thing: Any,
    expected: type[Any],
    pattern: re.Pattern[str],
    vocabularies: Mapping[str, Vocabulary],
) -> str | None:
    if not isinstance(thing, expected):
        return f"register() for {kind}s takes a {expected.__name__}, got {thing!r}"
    if not isinstance(thing.name, str) or not pattern.fullmatch(thing.name):
        return f"invalid {kind} name {thing.name!r}"
    if (
        isinstance(thing, Fact)
        and thing.type.kind == "enum"
        and thing.type.vocab not in vocabularies
    ):
        return f'fact "{thing.name}" uses unknown vocabulary "{thing.type.vocab}"'
    function = {Fact: "resolve", Check: "test", Action: "run", Executor: "run"}.get(
        type(thing)
    )
    if function is not None and not callable(getattr(thing, function)):
        return f'{kind} "{thing.name}": {function} is not callable'
    if isinstance(thing, Check | Action) and not attrs.has(thing.params):
        return f'{kind} "{thing.name}": params must be an attrs class'
    return None
