"""Build the plugin manager and collect what the plugins register.

Plugins come from four places, in this order: the core's own built-ins
(:data:`BUILTIN_PLUGINS`), the ``returnrules`` entry-point group (the standard
pack installs there like any third-party plugin), a policy's ``[plugins]
modules`` (files relative to the policy, or importable module names), and
objects passed in code.  ``[plugins] disable`` and the environment variable
``RETURNRULES_DISABLE_PLUGINS`` (comma-separated names) block plugins by name;
``RETURNRULES_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry points.

Nothing here raises for a user's mistake: every failure (a plugin that does
not import, a duplicate name, an unknown plugin to disable) becomes an
:class:`~returnrules.model.errors.Issue` naming the plugin.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal

import attrs
import pluggy

from returnrules import hookspecs
from returnrules.model.errors import Issue, PathKey, RequestProblem, did_you_mean
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Action, Check, Fact

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
    fact_numbers: Mapping[str, int] = attrs.field(init=False)

    @fact_numbers.default
    def _number_facts(self) -> Mapping[str, int]:
        return {fact.name: i for i, fact in enumerate(self.facts)}

    def fact(self, name: str) -> Fact | None:
        number = self.fact_numbers.get(name)
        return None if number is None else self.facts[number]

    @property
    def hook(self) -> Any:
        """The hook relay handed to plugins (``ctx.hook``) for their own hooks."""
        return self.plugin_manager.hook

    def check_data(
        self, data: Mapping[str, Any], vocabularies: Mapping[str, Vocabulary]
    ) -> list[RequestProblem]:
        """Every plugin's problems with *data* (hook ``returnrules_check_data``)."""
        problems: list[RequestProblem] = []
        arguments = {"data": data, "vocabularies": vocabularies}
        caller = self.plugin_manager.hook.returnrules_check_data
        answers = each_impl(caller, lambda _: arguments, lambda a: list(a or ()))
        for plugin, answer, error in answers:
            where = f'plugin "{plugin}" failed in returnrules_check_data'
            if error is not None:
                problems.append(
                    RequestProblem((), f"{where}: {_describe(error)}", "plugin-failed")
                )
                continue
            for problem in answer:
                if not isinstance(problem, RequestProblem):
                    problem = RequestProblem(
                        (),
                        f"{where}: returned {problem!r}, not a RequestProblem",
                        "plugin-failed",
                    )
                problems.append(problem)
        return problems


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


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


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
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy validates hook signatures here
            self.issues.append(
                Issue(
                    where,
                    f'plugin "{name}" ({source}) is invalid: {_describe(exc)}',
                    "plugin-invalid",
                )
            )
            return
        self.infos[name] = PluginInfo(name, origin, source)

    def import_or_report(
        self, target: Callable[[], object], name: str, source: str, where: PathKey
    ) -> object | None:
        try:
            return target()
        except (Exception, SystemExit) as exc:  # a plugin must not end the process
            self.issues.append(
                Issue(
                    where,
                    f'plugin "{name}" ({source}) failed to import: {_describe(exc)}',
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


def load_registry(
    modules: Sequence[str] = (),
    *,
    base_dir: Path | None = None,
    disable: Sequence[str] = (),
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
) -> tuple[Registry, list[Issue]]:
    """Build a plugin manager and the registry of what its plugins provide.

    *modules* and *disable* come from the policy's ``[plugins]`` table (issues
    are reported at those keys); *plugins* are objects passed in code.  The
    built-in plugins cannot be disabled.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loader = _Loader(pm, blocked=set())
    for modname in BUILTIN_PLUGINS:
        loader.add(importlib.import_module(modname), "core", "built-in", modname, ())
    loader.blocked = _env_names(ENV_DISABLE) | set(disable)

    if autoload is None:
        autoload = not os.environ.get(ENV_NO_AUTOLOAD)
    entry_points = sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    )
    if autoload:
        for ep in entry_points:
            if ep.name not in loader.blocked:
                dist = ep.dist.name if ep.dist is not None else "?"
                source = f"{ep.value} from {dist}"
                plugin = loader.import_or_report(ep.load, ep.name, source, ())
                if plugin is not None:
                    loader.add(plugin, ep.name, "entry point", source, ())
    for i, spec in enumerate(modules):
        _load_module(loader, spec, base_dir or Path.cwd(), ("plugins", "modules", i))
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

    _call_each(pm.hook.returnrules_addhooks, loader, lambda plugin: pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        loader.issues.append(Issue((), f"invalid plugin: {exc}", "plugin-invalid"))
    return _collect(pm, loader), loader.issues


def _load_module(loader: _Loader, spec: str, base_dir: Path, where: PathKey) -> None:
    """Load one ``[plugins] modules`` entry: a file relative to the policy, or a
    module name."""
    name, is_file = _module_spec_name(spec)
    if name in loader.blocked:
        return
    target: Callable[[], object]
    origin: Origin
    if is_file:
        path = base_dir / spec
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
        target, origin = functools.partial(importlib.import_module, spec), "module"
    plugin = loader.import_or_report(target, name, spec, where)
    if plugin is not None:
        loader.add(plugin, name, origin, spec, where)


def each_impl(
    caller: Any,
    arguments: Callable[[str], Mapping[str, object]],
    collect: Callable[[Any], Any] = lambda answer: answer,
) -> Iterator[tuple[str, Any, BaseException | None]]:
    """Call every implementation of a hook on its own, in registration order.

    Yields ``(plugin name, answer, None)`` or ``(plugin name, None, error)``.
    pluggy's normal call returns answers without saying which plugin gave
    them; registration and data checks need the plugin's name for messages,
    and one failing plugin must not hide the others' answers.  *collect*
    turns an answer into its final form while a failure is still the plugin's
    (a generator of problems raises only when read).
    """
    for impl in caller.get_hookimpls():
        given = arguments(impl.plugin_name)
        try:
            answer = collect(impl.function(*[given[name] for name in impl.argnames]))
        except (Exception, SystemExit) as exc:  # a plugin must not end the process
            yield impl.plugin_name, None, exc
            continue
        yield impl.plugin_name, answer, None


def _call_each(caller: Any, loader: _Loader, argument: Callable[[str], object]) -> None:
    """Call a one-argument hook of every plugin with ``argument(plugin name)``;
    a failure is an issue naming the plugin."""
    (name,) = caller.spec.argnames
    for plugin, _, error in each_impl(caller, lambda p: {name: argument(p)}):
        if error is not None:
            loader.issues.append(
                Issue(
                    (),
                    f'plugin "{plugin}" failed in {caller.name}: {_describe(error)}',
                    "plugin-failed",
                )
            )


def _collect(pm: pluggy.PluginManager, loader: _Loader) -> Registry:
    vocabularies: dict[str, Vocabulary] = {}
    facts: dict[str, Fact] = {}
    checks: dict[str, Check[Any]] = {}
    actions: dict[str, Action[Any]] = {}
    owners: dict[tuple[str, str], str] = {}
    added: dict[str, dict[str, list[str]]] = {}

    def registrar(
        kind: str, table: dict[str, Any], expected: type, pattern: re.Pattern[str]
    ) -> Callable[[str], Callable[[Any], None]]:
        def for_plugin(plugin: str) -> Callable[[Any], None]:
            def register(thing: Any) -> None:
                problem = _validate(kind, thing, expected, pattern, vocabularies)
                if problem is None and thing.name in table:
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

    hook = pm.hook
    _call_each(
        hook.returnrules_register_vocabularies,
        loader,
        registrar("vocabulary", vocabularies, Vocabulary, _THING_NAME),
    )
    _call_each(
        hook.returnrules_register_facts,
        loader,
        registrar("fact", facts, Fact, _FACT_NAME),
    )
    _call_each(
        hook.returnrules_register_checks,
        loader,
        registrar("check", checks, Check, _THING_NAME),
    )
    _call_each(
        hook.returnrules_register_actions,
        loader,
        registrar("action", actions, Action, _THING_NAME),
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
            )
        )
    return Registry(
        plugin_manager=pm,
        plugins=tuple(infos),
        vocabularies=vocabularies,
        facts=tuple(facts.values()),
        checks=checks,
        actions=actions,
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
    function = {Fact: "resolve", Check: "test", Action: "run"}.get(type(thing))
    if function is not None and not callable(getattr(thing, function)):
        return f'{kind} "{thing.name}": {function} is not callable'
    if isinstance(thing, Check | Action) and not attrs.has(thing.params):
        return f'{kind} "{thing.name}": params must be an attrs class'
    return None
