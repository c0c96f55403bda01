"""A loaded policy: what ``load_policy`` returns and a host system holds.

A :class:`Policy` is the checked, compiled policy together with what it was
loaded from.  It checks what it is given (requests against its currency and
vocabularies, data with the plugins that read it) and hands the checked values
to its :class:`~returnrules.engine.evaluate.Engine`.

It crosses process boundaries (multiprocessing, Dask, Ray) as what it was
loaded from - its source text, its directory and its plugins - and is loaded
and compiled again on the other side, once per process: generated code and
the objects bound into it are never pickled.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from returnrules.engine.evaluate import Engine, RequestPlan
from returnrules.engine.ir import PolicyIR, RuleIR
from returnrules.files.positions import key_positions, locate
from returnrules.model.decision import Decision, DecisionName
from returnrules.model.errors import PathKey, Problem, RequestError, RequestProblem
from returnrules.model.reader import RequestReader
from returnrules.model.request import Request
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Data, Fact
from returnrules.plugin.manager import AllowModules, Registry
from returnrules.plugin.tape import Tape
from returnrules.policy.analysis import Analysis, analyze
from returnrules.policy.whynot import MAX_CHANGES, WhyNot, why_not

__all__ = ["Origin", "Policy"]


@attrs.frozen
class Origin:
    """What a policy was loaded from: enough to load it again elsewhere."""

    text: str
    source: str = "<string>"
    base_dir: str | None = None
    plugins: tuple[object, ...] = ()
    autoload: bool | None = None
    allow_modules: AllowModules = ()

    def load(self) -> Policy:
        """Load and compile the policy again (in this process)."""
        from returnrules.policy.load import loads_policy

        return loads_policy(
            self.text,
            source=self.source,
            base_dir=self.base_dir,
            plugins=self.plugins,
            autoload=self.autoload,
            allow_modules=self.allow_modules,
        )


@functools.lru_cache(maxsize=16)
def _compiled(origin: Origin) -> Policy:
    return origin.load()


def _unpickle(origin: Origin) -> Policy:
    """A policy that crossed a process boundary: loaded once per process.

    Policies whose plugins all come by name (entry points, files, modules) are
    kept per process by their origin, so a worker given the same policy for
    every task compiles it once; plugin objects passed in code have no stable
    identity across processes, so such a policy is loaded again each time.
    """
    if origin.plugins:
        return origin.load()
    return _compiled(origin)


class Policy:
    """A loaded, checked and compiled policy.  Build it with ``load_policy``.

    ``evaluate(request, data=None, explain=False)`` decides one request;
    ``plan`` decides without running actions; ``evaluate_many`` streams many.
    A policy is immutable and may be shared between threads.
    """

    def __init__(
        self,
        ir: PolicyIR,
        registry: Registry,
        warnings: Iterable[Problem] = (),
        origin: Origin | None = None,
    ) -> None:
        self.ir = ir
        self.registry = registry
        self.vocabularies: Mapping[str, Vocabulary] = ir.vocabularies
        self.warnings: tuple[Problem, ...] = tuple(warnings)
        self.origin = Origin("", ir.source) if origin is None else origin
        self.engine = Engine(ir, registry)
        self._read = RequestReader(ir.currency, self.vocabularies)
        self._positions: Mapping[PathKey, tuple[int, int]] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle, (self.origin,))

    # -- properties -------------------------------------------------------------

    @property
    def source(self) -> str:
        """The file the policy was loaded from (``<string>`` for text)."""
        return self.ir.source

    @property
    def text(self) -> str:
        """The policy's TOML source text."""
        return self.origin.text

    @property
    def currency(self) -> str:
        return self.ir.currency

    @property
    def default(self) -> DecisionName:
        return self.ir.default

    @property
    def rules(self) -> tuple[RuleIR, ...]:
        return self.ir.rules

    @property
    def facts(self) -> tuple[Fact, ...]:
        """The facts, numbered as compiled (plugin facts type-checked as resolved)."""
        return self.engine.facts

    def position(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Line and column in the policy file of a key path, e.g. ``("rule", 3)``."""
        if self._positions is None:
            self._positions = key_positions(self.origin.text)
        return locate(self._positions, path)

    def rule_line(self, rule_id: str) -> int:
        """The line of the policy file where rule *rule_id* starts."""
        for rule in self.rules:
            if rule.id == rule_id:
                return self.position(("rule", rule.index))[0]
        raise KeyError(rule_id)

    def __repr__(self) -> str:
        return f"<Policy {self.source} ({len(self.rules)} rules, {self.currency})>"

    # -- analysis ---------------------------------------------------------------

    def analyze(self) -> Analysis:
        """Every finding of :mod:`returnrules.policy.analysis` (rules that never
        match or decide, actions that never win, redundant branches, uncovered
        regions) and the coverage of ``[policy] default``."""
        return analyze(self.ir, self.engine.facts)

    def problems(self, analysis: Analysis) -> tuple[Problem, ...]:
        """The load-time warnings and *analysis*'s findings, at their place in
        the file, in file order, each once."""
        out = list(self.warnings)
        seen = {(p.path, p.code) for p in out}
        for finding in analysis.findings:
            issue = finding.issue
            if (issue.path, issue.code) in seen:
                continue
            seen.add((issue.path, issue.code))
            line, col = self.position(issue.path)
            out.append(
                Problem(self.source, line, col, issue.message, issue.code,
                        issue.severity, issue.path)
            )  # fmt: skip
        return tuple(sorted(out, key=lambda p: (p.line, p.col)))

    def why_not(
        self,
        request: Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
        *,
        line: int | None = None,
        target: DecisionName = "approve",
        max_changes: int = MAX_CHANGES,
    ) -> WhyNot:
        """What would have given a line *target*: the smallest sets of changes
        to the policy's actionable facts (``[explain] actionable``), each
        confirmed by evaluating the changed request.  *line* is the order line
        (default: the first line whose decision is not *target*)."""
        return why_not(self, request, data, line=line, target=target,
                       max_changes=max_changes)  # fmt: skip

    # -- requests and data ----------------------------------------------------

    def check_data(self, data: Mapping[str, Any]) -> Data:
        """Check a data mapping (stock, suppliers...) with the plugins that read it.

        Returns a :class:`Data` snapshot to pass to every evaluation of a
        batch: what the plugins structure from it is then worked out once, and
        later changes to *data* do not reach it.  Raises :class:`RequestError`
        listing every problem.
        """
        if isinstance(data, Data):
            snapshot = data
        elif isinstance(data, Mapping):
            snapshot = Data.snapshot(data)
        else:
            raise RequestError([RequestProblem((), "data is a table", "bad-value")])
        problems = self.registry.check_data(snapshot, self.vocabularies)
        if problems:
            raise RequestError(problems)
        return snapshot

    def parse_request(self, mapping: Mapping[str, Any]) -> Request:
        """Check a request against this policy's currency and vocabularies."""
        return self._read(mapping)

    def _checked(self, request: Request | Mapping[str, Any]) -> Request:
        if not isinstance(request, Request):
            return self.parse_request(request)
        if request.currency == self.currency:
            return request
        if request.order.currency is None:
            # The request named no currency: it takes the policy's, as a
            # mapping without one does when the policy parses it.
            return request.in_currency(self.currency)
        raise RequestError(
            [
                RequestProblem(
                    ("order", "currency"),
                    f'"{request.currency}" does not match the policy\'s currency '
                    f'"{self.currency}"',
                    "currency-mismatch",
                )
            ]
        )

    @staticmethod
    def _data(data: Mapping[str, Any] | None) -> Data:
        if data is None:
            return Data()
        if isinstance(data, Data):
            return data
        return Data(data)

    # -- evaluation -------------------------------------------------------------

    def evaluate(
        self,
        request: Request | Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
        *,
        explain: bool = False,
        tapes: Mapping[int, Tape] | None = None,
    ) -> Decision:
        """Decide *request* (a :class:`Request` or a mapping to parse).

        *data* (a mapping, or the :class:`Data` that :meth:`check_data`
        returns) is handed to the plugins' data providers (the CLI's
        ``--data``).  With *explain*, every line carries a trace of every rule.
        *tapes*, by order line number, keep what the data providers answered
        (or play a recorded answer back): the desk's snapshot of a decision.
        """
        # The usual calls inline (a request dict to read, or a parsed request
        # in the policy's currency; a checked Data): no helper calls for them.
        if request.__class__ is dict:
            request = self._read(request)
        elif request.__class__ is not Request or request.currency != self.currency:
            request = self._checked(request)
        if data.__class__ is not Data:
            data = self._data(data)
        return self.engine.evaluate(request, data, explain, tapes)

    def plan(
        self,
        request: Request | Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
    ) -> RequestPlan:
        """Decide *request* and list the planned actions, without running them.

        The fast path: the same decisions, matched and deciding rules as
        :meth:`evaluate`, and ``(action, rule)`` steps instead of computed
        amounts and rendered messages.
        """
        return self.engine.plan(self._checked(request), self._data(data))

    def evaluate_many(
        self,
        requests: Iterable[Request | Mapping[str, Any]],
        data: Mapping[str, Any] | None = None,
        *,
        explain: bool = False,
    ) -> Iterator[Decision | RequestError]:
        """Evaluate a stream of requests lazily, one at a time.

        A request that does not parse yields its :class:`RequestError` in its
        place, so one bad request never stops a batch.  The whole batch shares
        one :class:`Data`.
        """
        batch = self._data(data)
        engine = self.engine
        for request in requests:
            try:
                checked = self._checked(request)
            except RequestError as exc:
                yield exc
                continue
            yield engine.evaluate(checked, batch, explain)
