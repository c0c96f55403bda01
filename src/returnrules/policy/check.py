"""Type-check a policy document against the registry, like a compiler front end.

Input: the dict ``tomllib`` made of ``rules.toml`` and the plugin registry.
Output: a :class:`~returnrules.engine.ir.PolicyIR` and the list of every issue found,
each at the key path where the author wrote the mistake.  The checker never
stops at the first problem: a broken rule is skipped after its issues are
recorded and the others are still checked.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final

import attrs
import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError

from returnrules.engine.ir import (
    DEFAULT_ACTIONABLE,
    OPERATORS,
    ORDERING,
    AllOf,
    AnyOf,
    CheckCall,
    Compare,
    Cond,
    FactRef,
    NotOf,
    PlannedAction,
    PolicyIR,
    Present,
    RuleIR,
)
from returnrules.model.convert import (
    Context,
    issues_from_cattrs,
    make_converter,
    public_name,
    show,
    strict_decimal,
    strict_int,
    strict_money,
)
from returnrules.model.decision import DECISIONS, DecisionName, jsonable
from returnrules.model.errors import Issue, PathKey, did_you_mean, quote
from returnrules.model.money import is_currency_code
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Check, FactType, Template
from returnrules.plugin.manager import Registry
from returnrules.policy.analysis import at_load
from returnrules.policy.levers import LEVERS
from returnrules.policy.lint import lint

__all__ = [
    "MAX_DEPTH",
    "MAX_RULES",
    "check_policy",
    "compile_template",
    "merged_vocabularies",
]

MAX_DEPTH: Final = 32
MAX_RULES: Final = 20_000
TOP_KEYS: Final = ("version", "policy", "plugins", "vocab", "explain", "rule")
RULE_KEYS: Final = (
    "id",
    "title",
    "when",
    "decide",
    "for",
    "message",
    "priority",
    "then",
)
_RULE_ID = re.compile(r"[a-z0-9_-]+")
_CODE = re.compile(r"[a-z0-9_]+")


# -- templates --------------------------------------------------------------------


def _formatter(
    fact_type: FactType, vocabularies: Mapping[str, Vocabulary]
) -> Callable[[Any], str]:
    if fact_type.kind == "enum":
        vocab = vocabularies[fact_type.vocab or ""]
        return lambda v: "—" if v is None else vocab.label(v)
    if fact_type.kind == "bool":
        return lambda v: "—" if v is None else ("true" if v else "false")
    if fact_type.kind in ("date", "datetime"):
        return lambda v: "—" if v is None else v.isoformat()
    return lambda v: "—" if v is None else str(v)


def compile_template(
    text: str, registry: Registry, vocabularies: Mapping[str, Vocabulary]
) -> Template:
    """Check a ``{fact.name}`` message and bind its placeholders to fact numbers.

    Raises ``ValueError`` naming every bad placeholder.  Only plain fact names
    are accepted: no attribute access, indexing, conversion or format spec.
    """
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        reason = str(exc).replace("'", '"')  # one kind of quotes in a message
        raise ValueError(f"bad placeholder in {show(text)}: {reason}") from None
    parts: list[str | int] = []
    formatters: list[Callable[[Any], str]] = []
    bad: list[str] = []
    names = list(registry.fact_numbers)
    for literal, field, spec, conversion in pieces:
        if literal:
            parts.append(literal)
        if field is None:
            continue
        written = "{" + field + (f"!{conversion}" if conversion else "")
        written += (f":{spec}" if spec else "") + "}"
        fact = registry.fact(field)
        if fact is None:
            bad.append(f"{written} is not a fact{did_you_mean(field, names)}")
            continue
        if spec or conversion:
            bad.append(f"{written}: write just {{{field}}}, without ! or :")
            continue
        parts.append(registry.fact_numbers[field])
        formatters.append(_formatter(fact.type, vocabularies))
    if bad:
        raise ValueError("unknown placeholder: " + "; ".join(bad))
    return Template(text, tuple(parts), tuple(formatters))


# -- parameters of checks and actions ------------------------------------------------


@attrs.frozen
class _Scope:
    """What a parameter hook needs to know about the policy being checked."""

    currency: str
    vocabularies: Mapping[str, Vocabulary]
    registry: Registry

    def converter(self) -> cattrs.Converter:
        """The strict converter for this policy's parameters (see
        :func:`_params_converter`); its messages are compiled afterwards, by
        :meth:`_Checker.structure`, against this policy's facts."""
        return _params_converter(Context(self.currency, self.vocabularies))

    def template(self, text: str) -> Template:
        return compile_template(text, self.registry, self.vocabularies)


@attrs.frozen
class _Written:
    """A message as written, while its parameters are structured: compiled
    into a :class:`Template` once the policy's facts are at hand."""

    text: str


def _written(value: object, _: object) -> _Written:
    if not isinstance(value, str):
        raise ValueError(f"expected a message string, got {show(value)}")
    return _Written(value)


def _params_converter(context: Context) -> cattrs.Converter:
    """The converter of checks' and actions' parameters for *context*, made
    once per context (a policy load made one and generated every parameter
    class's structuring function again: 3 ms of 13).  A message is read as
    :class:`_Written`, so the converter holds nothing of one policy."""
    key = context.key
    conv = _PARAMS_CONVERTERS.get(key)
    if conv is None:
        if len(_PARAMS_CONVERTERS) >= 64:  # many policies, each with its codes
            _PARAMS_CONVERTERS.clear()
        conv = make_converter(context)
        conv.register_structure_hook(Template, _written)
        _PARAMS_CONVERTERS[key] = conv
    return conv


_PARAMS_CONVERTERS: dict[Hashable, cattrs.Converter] = {}


# -- literals in conditions -----------------------------------------------------------


def _literal(value: object, ftype: FactType, scope: _Scope) -> object:
    """Convert a literal written against a fact of *ftype*; ValueError if it misfits."""
    kind = ftype.kind
    if kind == "int":
        return strict_int(value)
    if kind == "decimal":
        return strict_decimal(value)
    if kind == "money":
        return strict_money(value, scope.currency)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {show(value)}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {show(value)}")
        return value
    if kind == "date":
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ValueError(f"expected a date like 2026-11-20, got {show(value)}")
        return value
    if kind == "datetime":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            raise ValueError(f"expected a date-time with UTC offset, got {show(value)}")
        return value
    # enum
    vocab = scope.vocabularies[ftype.vocab or ""]
    if not isinstance(value, str):
        raise ValueError(f"expected a {vocab.name} code, got {show(value)}")
    if value not in vocab:
        raise ValueError(
            f"unknown {vocab.name} {quote(value)}{did_you_mean(value, vocab.labels)}"
        )
    return value


# -- the checker ----------------------------------------------------------------------


@attrs.define
class _Checker:
    registry: Registry
    scope: _Scope
    issues: list[Issue] = attrs.field(factory=list)
    params: cattrs.Converter = attrs.field()

    @params.default
    def _params(self) -> cattrs.Converter:
        return self.scope.converter()

    line_of: Callable[[PathKey], int | None] = lambda _: None
    """The line a key path is written on, for messages that refer to another
    place in the file (None: not known)."""

    def error(
        self, path: PathKey, message: str, code: str, *, at_value: bool = False
    ) -> None:
        """Record an error at the key *path*, or at its value (*at_value*)."""
        self.issues.append(Issue(path, message, code, at_value=at_value))

    def bad_value(self, path: PathKey, message: str, code: str = "bad-value") -> None:
        """Record an error about the value written at *path*, shown there."""
        self.error(path, message, code, at_value=True)

    def warn(self, path: PathKey, message: str, code: str) -> None:
        self.issues.append(Issue(path, message, code, "warning"))

    def unknown_keys(
        self, table: Mapping[str, Any], known: Sequence[str], path: PathKey, what: str
    ) -> None:
        for key in table:
            if key not in known:
                self.error(
                    (*path, key),
                    f"unknown key {quote(key)} in {what}{did_you_mean(key, known)}",
                    "unknown-key",
                )

    def structure(self, value: Any, cls: type, path: PathKey, whose: str = "") -> Any:
        """Structure *value* into *cls*; record issues and return None on failure.

        *whose* ("check delivery_deadline") prefixes the messages, which then
        speak of parameters rather than keys, and name the parameter whose
        value is wrong: ``action refund: fee_min: expected a decimal number
        like 180.10, got "x"``.
        """
        try:
            structured: Any = self.params.structure(value, cls)
        except (ClassValidationError, IterableValidationError, ValueError) as exc:
            for issue in issues_from_cattrs(exc, path):
                message = issue.message
                if whose:
                    message = message.replace("unknown key", "unknown parameter")
                    message = message.replace("required key", "required parameter")
                    name = _parameter(issue.path[len(path) :], issue.about_key)
                    bad_value = issue.code == "bad-value"
                    message = _of_parameter(whose, name if bad_value else "", message)
                self.error(
                    issue.path, message, issue.code, at_value=not issue.about_key
                )
            return None
        failed: list[tuple[PathKey, str]] = []
        compiled = self._compiled(structured, path, failed)
        for where, problem in failed:
            if whose:
                name = _parameter(where[len(path) :], False)
                problem = _of_parameter(whose, name, problem)
            self.error(where, problem, "bad-value", at_value=True)
        return None if failed else compiled

    def _compiled(
        self, value: Any, path: PathKey, failed: list[tuple[PathKey, str]]
    ) -> Any:
        """*value* with every message in it compiled (a new object where one
        was); a message that does not compile goes to *failed*."""
        if value.__class__ is _Written:
            try:
                return self.scope.template(value.text)
            except ValueError as exc:
                failed.append((path, str(exc)))
                return None
        if attrs.has(value.__class__):
            changes = {}
            for field in attrs.fields(value.__class__):
                if not field.init:
                    continue
                old = getattr(value, field.name)
                new = self._compiled(old, (*path, public_name(field.name)), failed)
                if new is not old:
                    changes[field.alias or field.name] = new
            return attrs.evolve(value, **changes) if changes else value
        kind = value.__class__
        if kind is list or kind is tuple:  # what cattrs structures arrays into
            items = [
                self._compiled(item, (*path, i), failed) for i, item in enumerate(value)
            ]
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
            return kind(items)
        if kind is dict:
            table = {
                key: self._compiled(item, (*path, key), failed)
                for key, item in value.items()
            }
            if all(table[key] is item for key, item in value.items()):
                return value
            return table
        return value

    # conditions

    def condition(self, node: object, path: PathKey, depth: int = 0) -> Cond | None:
        if depth > MAX_DEPTH:
            self.error(
                path, f"conditions nest deeper than {MAX_DEPTH} levels", "too-deep"
            )
            return None
        if not isinstance(node, Mapping):
            self.bad_value(
                path,
                "a condition is a table: { fact = ... }, { check = ... }, "
                f"{{ all = [...] }}, {{ any = [...] }} or {{ not = {{...}} }}; "
                f"got {show(node)}",
                "bad-condition",
            )
            return None
        for combinator in ("all", "any", "not"):
            if combinator in node:
                return self.combinator(combinator, node, path, depth)
        if "fact" in node:
            return self.comparison(node, path)
        if "check" in node:
            return self.check_call(node, path)
        keys = ", ".join(quote(k) for k in node) or "nothing"
        guess = next(
            (did_you_mean(k, ("fact", "check", "all", "any", "not")) for k in node), ""
        )
        self.error(
            path,
            f"a condition needs fact, check, all, any or not; found {keys}{guess}",
            "bad-condition",
        )
        return None

    def combinator(
        self, name: str, node: Mapping[str, Any], path: PathKey, depth: int
    ) -> Cond | None:
        extra = [k for k in node if k != name]
        if extra:
            self.error(
                (*path, extra[0]),
                f"{quote(name)} must be alone in its table; found also "
                + ", ".join(quote(k) for k in extra),
                "bad-condition",
            )
        body = node[name]
        if name == "not":
            item = self.condition(body, (*path, "not"), depth + 1)
            return None if item is None or extra else NotOf(item)
        if not isinstance(body, list):
            self.bad_value(
                (*path, name),
                f'"{name}" takes an array of conditions, got {show(body)}',
                "bad-condition",
            )
            return None
        items = [
            self.condition(c, (*path, name, i), depth + 1) for i, c in enumerate(body)
        ]
        if extra or any(item is None for item in items):
            return None
        checked = tuple(item for item in items if item is not None)
        return AllOf(checked) if name == "all" else AnyOf(checked)

    def fact_ref(self, name: object, path: PathKey) -> FactRef | None:
        if not isinstance(name, str):
            self.bad_value(path, f"a fact name is a string, got {show(name)}")
            return None
        number = self.registry.fact_numbers.get(name)
        if number is None:
            hint = did_you_mean(name, self.registry.fact_numbers)
            self.bad_value(path, f"unknown fact {quote(name)}{hint}", "unknown-fact")
            return None
        return FactRef(number, name, self.registry.facts[number].type)

    def comparison(self, node: Mapping[str, Any], path: PathKey) -> Cond | None:
        fact = self.fact_ref(node["fact"], (*path, "fact"))
        ops = [k for k in node if k != "fact"]
        valid = (*OPERATORS, "present")
        bad = [k for k in ops if k not in valid]
        for key in bad:
            self.error(
                (*path, key),
                f"unknown operator {quote(key)}{did_you_mean(key, valid)}"
                f" (operators: {', '.join(valid)})",
                "unknown-operator",
            )
        ops = [k for k in ops if k in valid]
        if len(ops) != 1:
            if not bad:
                found = ", ".join(ops) if ops else "none"
                self.error(
                    path,
                    "a fact comparison needs exactly one operator "
                    f"({', '.join(valid)}); found {found}",
                    "bad-condition",
                )
            return None
        op = ops[0]
        value = node[op]
        where: PathKey = (*path, op)
        if fact is None or bad:
            return None
        if op == "present":
            if not isinstance(value, bool):
                self.bad_value(where, f"present takes true or false, got {show(value)}")
                return None
            if not fact.type.optional:
                self.warn(
                    where,
                    f"{fact.name} is never absent; present is always true",
                    "always-present",
                )
            return Present(fact, value)
        return self.compare(fact, op, value, where)

    def compare(
        self, fact: FactRef, op: str, value: object, where: PathKey
    ) -> Cond | None:
        ftype = fact.type
        usable = "eq, ne, in, not_in" if ftype.kind != "bool" else "eq, ne"
        if op in ORDERING and not ftype.ordered:
            self.error(
                where,
                f'operator "{op}" does not apply to {fact.name} '
                f"({ftype}); use {usable}",
                "bad-operator",
            )
            return None
        if op in ("in", "not_in") and ftype.kind == "bool":
            self.error(
                where,
                f'operator "{op}" does not apply to {fact.name} '
                f"({ftype}); use {usable}",
                "bad-operator",
            )
            return None
        if isinstance(value, Mapping):
            if op in ("in", "not_in") or set(value) != {"fact"}:
                self.bad_value(
                    where,
                    f'a value is a literal or {{ fact = "NAME" }} (not with {op})',
                )
                return None
            other = self.fact_ref(value["fact"], (*where, "fact"))
            if other is None:
                return None
            if not ftype.compatible(other.type):
                self.bad_value(
                    where,
                    f"cannot compare {fact.name} ({ftype}) with "
                    f"{other.name} ({other.type})",
                    "type-mismatch",
                )
                return None
            return Compare(fact, op, other, {"fact": other.name})
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                self.bad_value(where, f"{op} takes an array, got {show(value)}")
                return None
            items = [self.literal(v, fact, (*where, i)) for i, v in enumerate(value)]
            if any(item is _BAD for item in items):
                return None
            return Compare(fact, op, frozenset(items), jsonable(value))
        if isinstance(value, list):
            self.bad_value(where, f"{op} takes a single value; use in for a list")
            return None
        constant = self.literal(value, fact, where)
        if constant is _BAD:
            return None
        return Compare(fact, op, constant, jsonable(value))

    def literal(self, value: object, fact: FactRef, where: PathKey) -> object:
        try:
            return _literal(value, fact.type, self.scope)
        except ValueError as exc:
            message = str(exc)
            if not message.startswith("unknown"):
                message = f"{fact.name} is {fact.type}: {message}"
            code = "unknown-code" if message.startswith("unknown") else "bad-literal"
            self.bad_value(where, message, code)
            return _BAD

    def check_call(self, node: Mapping[str, Any], path: PathKey) -> Cond | None:
        name = node["check"]
        checks = self.registry.checks
        if not isinstance(name, str) or name not in checks:
            hint = did_you_mean(name, checks) if isinstance(name, str) else ""
            self.bad_value(
                (*path, "check"),
                f"unknown check {_quoted(name)}{hint}",
                "unknown-check",
            )
            return None
        check = checks[name]
        raw = {k: v for k, v in node.items() if k != "check"}
        params = self.structure(raw, check.params, path, f"check {name}")
        if params is None:
            return None
        return CheckCall(
            check, params, jsonable(raw), self.equivalent(check, params, path)
        )

    def equivalent(self, check: Check[Any], params: Any, path: PathKey) -> Cond | None:
        """The condition over facts a check declares it is, checked; a
        declaration that fails or does not check is the plugin's fault: a
        warning, and the check stays opaque."""
        if check.equivalent is None:
            return None
        whose = f"check {check.name} (plugin {check.plugin})"
        try:
            written = check.equivalent(params)
        except Exception as exc:  # the plugin's fault, reported below
            self.warn(
                path,
                f"{whose}: its equivalent condition failed: {exc!r}",
                "bad-equivalent",
            )
            return None
        if written is None:
            return None
        probe = _Checker(self.registry, self.scope, [], self.params)
        cond = probe.condition(written, ())
        errors = [i for i in probe.issues if i.severity == "error"]
        if cond is None or errors:
            first = errors[0].message if errors else "not a condition"
            self.warn(
                path,
                f"{whose}: its equivalent condition does not check: {first}",
                "bad-equivalent",
            )
            return None
        return cond

    # rules

    def rule(self, raw: object, index: int, seen: dict[str, int]) -> RuleIR | None:
        path: PathKey = ("rule", index)
        if not isinstance(raw, Mapping):
            self.error(path, "each [[rule]] is a table", "bad-rule")
            return None
        before = len(self.issues)
        self.unknown_keys(raw, RULE_KEYS, path, "a rule")
        rule_id = raw.get("id")
        if rule_id is None:
            self.error(path, "the rule has no id", "missing-key")
        elif not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
            self.bad_value(
                (*path, "id"),
                f"a rule id uses a-z, 0-9, _ and -; got {show(rule_id)}",
                "bad-rule-id",
            )
        elif rule_id in seen:
            first = seen[rule_id]
            line = self.line_of(("rule", first, "id"))
            where = f"on line {line}" if line else f"by rule #{first + 1}"
            self.bad_value(
                (*path, "id"),
                f"duplicate rule id {quote(rule_id)} (first used {where})",
                "duplicate-rule",
            )
        else:
            seen[rule_id] = index
        title = self.optional_str(raw, "title", path)
        when = None
        if "when" in raw:
            when = self.condition(raw["when"], (*path, "when"))
        decide = self.decision(raw.get("decide"), (*path, "decide"))
        for_ = self.for_list(raw, decide, path)
        message = None
        text = self.optional_str(raw, "message", path)
        if text is not None:
            message = self.structure(text, Template, (*path, "message"))
        priority = raw.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            self.bad_value(
                (*path, "priority"), f"priority is an integer, got {show(priority)}"
            )
            priority = 0
        then = self.then(raw.get("then", []), (*path, "then"))
        if len(self.issues) > before and any(
            i.severity == "error" for i in self.issues[before:]
        ):
            return None
        if decide is None and not then:
            self.warn(
                path,
                f"rule {quote(rule_id)} has neither decide nor then: it can "
                "only show up in matched",
                "rule-does-nothing",
            )
        if message is not None and decide is None:
            self.warn(
                (*path, "message"),
                f"rule {quote(rule_id)} has a message but no decide: messages are "
                "shown for the rules that decide a line",
                "message-without-decide",
            )
        if "for" in raw and not then:
            self.warn(
                (*path, "for"),
                f"rule {quote(rule_id)} sets for but has no then",
                "for-without-then",
            )
        return RuleIR(
            index=index,
            id=str(rule_id),
            title=title,
            when=when,
            decide=decide,
            for_=for_,
            message=message,
            priority=priority,
            then=tuple(then or ()),
        )

    def optional_str(
        self, raw: Mapping[str, Any], key: str, path: PathKey
    ) -> str | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            self.bad_value((*path, key), f"{key} is a string, got {show(value)}")
            return None
        return value

    def decision(self, value: object, where: PathKey) -> DecisionName | None:
        if value is None:
            return None
        for decision in DECISIONS:
            if value == decision:
                return decision
        hint = did_you_mean(value, DECISIONS) if isinstance(value, str) else ""
        self.bad_value(
            where,
            f"invalid decision {show(value)}{hint} (approve, reject, review)",
            "bad-decision",
        )
        return None

    def for_list(
        self, raw: Mapping[str, Any], decide: DecisionName | None, path: PathKey
    ) -> frozenset[DecisionName]:
        if "for" not in raw:
            return frozenset({decide or "approve"})
        value = raw["for"]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.bad_value(
                (*path, "for"), f"for is an array of decisions, got {show(value)}"
            )
            return frozenset()
        out = [self.decision(v, (*path, "for", i)) for i, v in enumerate(value)]
        return frozenset(d for d in out if d is not None)

    def then(self, value: object, path: PathKey) -> list[PlannedAction] | None:
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, list):
            self.bad_value(path, f"then is an array of actions, got {show(value)}")
            return None
        planned: list[PlannedAction] = []
        singles: dict[str, int] = {}
        actions = self.registry.actions
        for i, entry in enumerate(value):
            where: PathKey = (*path, i)
            if not isinstance(entry, Mapping) or "action" not in entry:
                self.bad_value(
                    where,
                    'each entry of then is { action = "NAME", ... }',
                    "bad-action",
                )
                continue
            name = entry["action"]
            if not isinstance(name, str) or name not in actions:
                hint = did_you_mean(name, actions) if isinstance(name, str) else ""
                self.bad_value(
                    (*where, "action"),
                    f"unknown action {_quoted(name)}{hint}",
                    "unknown-action",
                )
                continue
            action = actions[name]
            if not action.multiple:
                if name in singles:
                    self.bad_value(
                        (*where, "action"),
                        f"{name} happens once per line; "
                        f"this rule already plans it in then[{singles[name]}]",
                        "duplicate-action",
                    )
                singles.setdefault(name, i)
            raw = {k: v for k, v in entry.items() if k != "action"}
            params = self.structure(raw, action.params, where, f"action {name}")
            if params is not None:
                planned.append(PlannedAction(action, params, jsonable(raw)))
        return planned


_BAD: Final = object()


def _of_parameter(whose: str, name: str, message: str) -> str:
    """``action refund: fee_min: <message>`` (*name* may be empty)."""
    return f"{whose}: {name}: {message}" if name else f"{whose}: {message}"


def _parameter(rest: PathKey, about_key: bool) -> str:
    """The parameter a problem is about, from its path below the parameters'
    table: ``fee_min``, ``per_tier.vip`` (a problem with a mapping's key is
    about the mapping: ``per_tier``); "" for the table itself."""
    if about_key:
        rest = rest[:-1]
    return "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest
    ).removeprefix(".")


def _quoted(value: object) -> str:
    """A name as the author wrote it: ``"flg"``, or the value if not a string."""
    return quote(value) if isinstance(value, str) else show(value)


# -- the document ------------------------------------------------------------------


def merged_vocabularies(
    doc: Mapping[str, Any], registry: Registry
) -> tuple[dict[str, Vocabulary], list[Issue]]:
    """The registry's vocabularies with the policy's ``[vocab.NAME]`` merged in.

    Bad entries are left out and reported as issues.
    """
    merged = dict(registry.vocabularies)
    issues: list[Issue] = []
    tables = doc.get("vocab", {})
    if not isinstance(tables, Mapping):
        issues.append(
            Issue(("vocab",), "vocab is a table of [vocab.NAME] tables", "bad-value")
        )
        return merged, issues
    for name, table in tables.items():
        path: PathKey = ("vocab", name)
        if name not in merged:
            hint = did_you_mean(name, merged)
            issues.append(
                Issue(
                    path,
                    f"unknown vocabulary {quote(name)}{hint}",
                    "unknown-vocabulary",
                )
            )
            continue
        if not isinstance(table, Mapping):
            message = f"[vocab.{name}] maps codes to labels"
            issues.append(Issue(path, message, "bad-value", at_value=True))
            continue
        extra: dict[str, str] = {}
        for code, label in table.items():
            where: PathKey = (*path, code)
            if not _CODE.fullmatch(code):
                issues.append(
                    Issue(
                        where,
                        f"a code uses a-z, 0-9 and _; got {quote(code)}",
                        "bad-code",
                    )
                )
            elif not isinstance(label, str):
                message = f"a label is a string, got {show(label)}"
                issues.append(Issue(where, message, "bad-value", at_value=True))
            elif merged[name].closed and code not in merged[name]:
                issues.append(
                    Issue(
                        where,
                        f"vocabulary {name} is closed: its codes can be "
                        "relabelled, not added",
                        "closed-vocabulary",
                    )
                )
            else:
                extra[code] = label
        merged[name] = merged[name].merged(extra)
    return merged, issues


def check_policy(
    doc: Mapping[str, Any],
    registry: Registry,
    source: str,
    *,
    line_of: Callable[[PathKey], int | None] = lambda _: None,
) -> tuple[PolicyIR | None, list[Issue]]:
    """Check a whole policy document; return its IR (None on errors) and issues.

    *line_of* gives the line a key path is written on, for messages that
    refer to another place (``first used on line 3``).
    """
    issues: list[Issue] = []

    def early(path: PathKey, message: str, code: str, at_value: bool = False) -> None:
        issues.append(Issue(path, message, code, at_value=at_value))

    for key in doc:
        if key not in TOP_KEYS:
            early(
                (key,),
                f"unknown key {quote(key)} at the top level"
                f"{did_you_mean(key, TOP_KEYS)}",
                "unknown-key",
            )
    version = doc.get("version")
    if version is None:
        early((), "the policy needs version = 1 at the top", "missing-key")
    elif version != 1 or isinstance(version, bool):
        early(
            ("version",),
            f"unsupported version {show(version)}; this returnrules reads version = 1",
            "bad-version",
            at_value=True,
        )
    section = doc.get("policy")
    currency, default = "CNY", "review"
    if not isinstance(section, Mapping):
        early(
            ("policy",) if section is not None else (),
            "the policy needs a [policy] table with currency",
            "missing-key",
        )
    else:
        for key in section:
            if key not in ("currency", "default"):
                early(
                    ("policy", key),
                    f"unknown key {quote(key)} in [policy]"
                    f"{did_you_mean(key, ('currency', 'default'))}",
                    "unknown-key",
                )
        value = section.get("currency")
        if not isinstance(value, str) or not is_currency_code(value):
            early(
                ("policy", "currency") if value is not None else ("policy",),
                f'[policy] currency must be an ISO 4217 code like "CNY"; got '
                f"{show(value) if value is not None else 'nothing'}",
                "bad-currency",
                at_value=True,
            )
        else:
            currency = value
        default = section.get("default", "review")

    vocabularies, vocabulary_issues = merged_vocabularies(doc, registry)
    issues += vocabulary_issues
    checker = _Checker(
        registry, _Scope(currency, vocabularies, registry), issues, line_of=line_of
    )
    the_default = checker.decision(default, ("policy", "default"))

    rules_raw = doc.get("rule", [])
    if not isinstance(rules_raw, list):
        checker.error(("rule",), "rules are written as [[rule]] tables", "bad-rule")
        rules_raw = []
    if len(rules_raw) > MAX_RULES:
        checker.error(("rule",), f"more than {MAX_RULES} rules", "too-large")
        rules_raw = []
    actionable = _actionable(doc.get("explain"), registry, issues)
    seen: dict[str, int] = {}
    rules = [checker.rule(raw, i, seen) for i, raw in enumerate(rules_raw)]
    if any(i.severity == "error" for i in issues):
        return None, issues
    checked = [r for r in rules if r is not None]
    issues += lint(checked, doc, registry.vocabularies)
    ir = PolicyIR(
        source=source,
        currency=currency,
        default=the_default or "review",
        rules=tuple(checked),
        vocabularies=vocabularies,
        actionable=actionable,
    )
    issues += at_load(ir, registry.facts)
    return ir, issues


def _actionable(
    section: object, registry: Registry, issues: list[Issue]
) -> tuple[str, ...]:
    """``[explain] actionable``: the facts a counterfactual may change."""
    if section is None:
        return DEFAULT_ACTIONABLE
    if not isinstance(section, Mapping):
        issues.append(Issue(("explain",), "[explain] is a table", "bad-value"))
        return DEFAULT_ACTIONABLE
    for key in section:
        if key != "actionable":
            issues.append(
                Issue(
                    ("explain", key),
                    f'unknown key "{key}" in [explain]'
                    f"{did_you_mean(key, ('actionable',))} (actionable)",
                    "unknown-key",
                )
            )
    names = section.get("actionable", list(DEFAULT_ACTIONABLE))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        issues.append(
            Issue(
                ("explain", "actionable"),
                "actionable is an array of fact names",
                "bad-value",
            )
        )
        return DEFAULT_ACTIONABLE
    good: list[str] = []
    for i, name in enumerate(names):
        where: PathKey = ("explain", "actionable", i)
        if name not in registry.fact_numbers:
            hint = did_you_mean(name, registry.fact_numbers)
            issues.append(Issue(where, f'unknown fact "{name}"{hint}', "unknown-fact"))
        elif name not in LEVERS:
            issues.append(
                Issue(
                    where,
                    f"{name} cannot be changed by a counterfactual; actionable "
                    f"facts: {', '.join(LEVERS)}",
                    "not-actionable",
                )
            )
        elif name not in good:
            good.append(name)
    return tuple(good)
