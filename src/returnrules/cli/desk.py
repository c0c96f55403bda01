"""The desk's commands: ``submit``, ``resume``, ``review``, ``history``,
``show``, ``ledger verify`` and ``db upgrade``.

Each takes plain arguments and a :class:`~returnrules.cli.commands.Console`,
calls the desk library (:mod:`returnrules.desk`), prints, and returns the exit
status: :data:`OK`, :data:`FAILED` (the policy or the ledger cannot be used,
the ledger was tampered with), :data:`BAD_INPUT` (a request is invalid, a
conflict, or not in the ledger) and :data:`ACTION_FAILED` (recorded, but an
action failed: ``resume --retry-failed`` runs it again).  A ledger that cannot
be used is one line, ``returnrules: ledger URL: MESSAGE``, never a traceback;
every line printed has its control characters escaped.
"""

from __future__ import annotations

import collections
import contextlib
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from returnrules.cli.commands import (
    BAD_INPUT,
    FAILED,
    OK,
    Console,
    load_reporting,
    read_data_reporting,
)
from returnrules.cli.inputs import JsonLine, Loaded, read_requests
from returnrules.cli.render import render_problem, render_request_error
from returnrules.cli.render_desk import (
    Labels,
    json_line,
    printable,
    render_history,
    render_queue,
    render_record,
    render_resolution,
    render_resume,
    render_submitted,
    render_verification,
)
from returnrules.desk.desk import Desk, Refused, Submitted
from returnrules.desk.ledger import (
    DEFAULT_URL,
    LATEST_VERSION,
    MIGRATIONS,
    Ledger,
    LedgerError,
    open_ledger,
    sqlite_path,
)
from returnrules.desk.views import (
    HistoryFilter,
    Record,
    history,
    journal,
    ledger_tables,
    recorded_policies,
    review_queue,
    show,
    verify,
)
from returnrules.model.errors import PolicyError, RequestError, quote
from returnrules.model.request import Request
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.manager import load_registry
from returnrules.policy.check import merged_vocabularies
from returnrules.policy.load import loads_policy
from returnrules.policy.policy import Policy

__all__ = [
    "ACTION_FAILED",
    "DB_ENV",
    "ledger_url",
    "run_db_upgrade",
    "run_history",
    "run_ledger_verify",
    "run_resume",
    "run_review_list",
    "run_review_resolve",
    "run_show",
    "run_submit",
]

ACTION_FAILED: Final = 3
"""Recorded, but an action failed (``resume --retry-failed`` runs it again)."""
DB_ENV: Final = "RETURNRULES_DB"
"""The environment variable naming the ledger when ``--db`` does not."""


def ledger_url(db: str | None) -> str:
    """``--db``, else ``$RETURNRULES_DB``, else ``returnrules.db`` here."""
    return db or os.environ.get(DB_ENV) or DEFAULT_URL


# -- the console, the ledger and their failures ----------------------------------------


@attrs.define
class _Printable(Console):
    """A console that escapes control characters in every line it prints."""

    def print(self, *lines: str) -> None:
        super().print(*(printable(line, self.style) for line in lines))

    def error(self, *lines: str) -> None:
        super().error(*(printable(line, self.err_style) for line in lines))


def guarded(
    console: Console, body: Callable[..., int], *args: Any, **kwargs: Any
) -> int:
    """Run a command's *body*; a ledger it cannot use is one line, status 1."""
    safe = _Printable(
        console.out, console.err, console.stdin, console.style, console.err_style
    )
    try:
        return body(safe, *args, **kwargs)
    except LedgerError as exc:
        safe.error(f"returnrules: ledger {exc}")
        return FAILED


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite ledger URL (None for PostgreSQL or a bad URL)."""
    if url.startswith(("postgres:", "postgresql:")):
        return None
    try:
        return sqlite_path(url)
    except LedgerError:
        return None  # open_ledger says what is wrong with it


@contextlib.contextmanager
def opened(url: str, *, create: bool) -> Iterator[Ledger]:
    """The ledger at *url*, closed at the end.  Unless *create*, the ledger
    must exist already, in this program's schema: reading a mistyped path
    never leaves an empty ledger behind."""
    path = _sqlite_path(url)
    if not create and path is not None and not path.exists():
        raise _no_ledger(url)
    ledger = open_ledger(url)
    try:
        if not create:
            if ledger.schema_version() == 0:
                raise _no_ledger(ledger.url)
            ledger.check_schema(create=False)
        yield ledger
    finally:
        ledger.close()


def _no_ledger(url: str) -> LedgerError:
    return LedgerError(
        url,
        "there is no ledger here: `returnrules submit` records the first request "
        "(or name the ledger with --db or RETURNRULES_DB)",
        "no-ledger",
    )


def _not_found(request_id: str) -> str:
    return f"returnrules: request {quote(request_id)} is not in the ledger"


# -- submit ---------------------------------------------------------------------------


def run_submit(
    requests: Sequence[str],
    console: Console,
    *,
    rules: str,
    data: str | None = None,
    db: str | None = None,
    as_json: bool = False,
    explain: bool = False,
    by: str | None = None,
) -> int:
    """``returnrules submit``: decide, record and execute each request, streamed."""
    return guarded(
        console, _submit, requests, rules=rules, data=data, db=db, as_json=as_json,
        explain=explain, by=by,
    )  # fmt: skip


def _decoded(loaded: Loaded) -> Mapping[str, Any] | RequestError:
    if isinstance(loaded, JsonLine):
        try:
            return loaded.load()
        except RequestError as exc:
            return exc
    return loaded


def _submit(
    console: Console,
    requests: Sequence[str],
    *,
    rules: str,
    data: str | None,
    db: str | None,
    as_json: bool,
    explain: bool,
    by: str | None,
) -> int:
    policy = load_reporting(rules, console)
    if policy is None:
        return FAILED
    data_map = None
    if data is not None:
        data_map = read_data_reporting(data, policy, console)
        if data_map is None:
            return BAD_INPUT
    # What the desk is given, until its outcome is printed: at most a batch.
    given: collections.deque[Mapping[str, Any] | RequestError] = collections.deque()

    def items() -> Iterator[tuple[str, Mapping[str, Any] | RequestError]]:
        for spec in requests:
            for source, loaded in read_requests(spec, console.stdin):
                item = _decoded(loaded)
                given.append(item)
                yield source, item

    bad = failed = 0
    first = True
    with opened(ledger_url(db), create=True) as ledger:
        desk = Desk(ledger, policy, data_map, actor=by)
        for outcome in desk.submit(items()):
            item = given.popleft()
            if isinstance(outcome, Refused):
                bad += 1
                console.error(*render_request_error(outcome.error))
                continue
            broken = outcome.failed > 0 or outcome.status == "failed"
            failed += broken
            if as_json:
                console.print(json_line(outcome.to_dict(trace=explain)))
                continue
            if not first:
                console.print("")
            first = False
            failures = _failures(ledger, outcome) if broken else []
            console.print(
                *render_submitted(
                    outcome,
                    _request(policy, item),
                    policy,
                    console.style,
                    failures=failures,
                )
            )
    if bad:
        console.error(f"{_requests(bad)} not recorded")
    if failed:
        console.error(
            f"{_requests(failed, 'has', 'have')} failed actions: "
            "`returnrules resume --retry-failed` runs them again"
        )
    if bad:
        return BAD_INPUT
    return ACTION_FAILED if failed else OK


def _requests(count: int, one: str = "was", many: str = "were") -> str:
    return f"{count} request {one}" if count == 1 else f"{count} requests {many}"


def _request(policy: Policy, item: Mapping[str, Any] | RequestError) -> Request | None:
    """The request again, for the line heads of the human output."""
    if isinstance(item, RequestError):
        return None
    try:
        return policy.parse_request(item)
    except RequestError:
        return None


def _failures(ledger: Ledger, outcome: Submitted) -> list[Mapping[str, Any]]:
    record = show(ledger, outcome.request_id)
    if record is None:
        return []
    return [a for a in record.actions if a["state"] == "failed"]


# -- resume ---------------------------------------------------------------------------


def run_resume(
    console: Console,
    *,
    rules: str,
    db: str | None = None,
    retry_failed: bool = False,
    by: str | None = None,
) -> int:
    """``returnrules resume``: run what a crash (or a failure) left undone."""
    return guarded(
        console, _resume, rules=rules, db=db, retry_failed=retry_failed, by=by
    )


def _resume(
    console: Console, *, rules: str, db: str | None, retry_failed: bool, by: str | None
) -> int:
    policy = load_reporting(rules, console)
    if policy is None:
        return FAILED
    with opened(ledger_url(db), create=False) as ledger:
        desk = Desk(ledger, policy, actor=by)
        states = ("pending", "failed") if retry_failed else ("pending",)
        keys = [entry["key"] for entry in journal(ledger, states=states)]
        report = desk.resume(retry_failed=retry_failed)
        ran = journal(ledger, keys=keys)
    console.print(*render_resume(ran, report, console.style))
    return ACTION_FAILED if report.failed else OK


# -- review ---------------------------------------------------------------------------


def run_review_list(
    console: Console, *, db: str | None = None, as_json: bool = False
) -> int:
    """``returnrules review list``: requests with a line waiting for a person."""
    return guarded(console, _review_list, db=db, as_json=as_json)


def _review_list(console: Console, *, db: str | None, as_json: bool) -> int:
    with opened(ledger_url(db), create=False) as ledger:
        queue = review_queue(ledger)
        if as_json:
            console.print(*(json_line(s.to_dict()) for s in queue))
            return OK
        labels = recorded_labels(ledger)
    console.print(*render_queue(queue, labels, console.style))
    return OK


def run_review_resolve(
    request_id: str,
    console: Console,
    *,
    decision: Literal["approve", "reject"],
    by: str,
    line: int | None = None,
    note: str | None = None,
    db: str | None = None,
    rules: str,
) -> int:
    """``returnrules review resolve``: a person decides the lines in review."""
    return guarded(
        console, _resolve, request_id, decision=decision, by=by, line=line,
        note=note, db=db, rules=rules,
    )  # fmt: skip


def _resolve(
    console: Console,
    request_id: str,
    *,
    decision: Literal["approve", "reject"],
    by: str,
    line: int | None,
    note: str | None,
    db: str | None,
    rules: str,
) -> int:
    policy = load_reporting(rules, console)
    if policy is None:
        return FAILED
    with opened(ledger_url(db), create=False) as ledger:
        before = show(ledger, request_id)
        if before is None:
            console.error(_not_found(request_id))
            return BAD_INPUT
        desk = Desk(ledger, policy, actor=by)
        try:
            desk.resolve(request_id, decision, line=line, note=note)
        except RequestError as exc:
            console.error(*(f"returnrules: {p.message}" for p in exc.problems))
            return BAD_INPUT
        except PolicyError as exc:  # the policy that decided it no longer loads
            console.error(*(render_problem(p, console.err_style) for p in exc.problems))
            return FAILED
        except ValueError as exc:  # an action of the policy failed: nothing changed
            console.error(
                f"returnrules: request {quote(request_id)} cannot be resolved, "
                f"nothing changed: {exc}"
            )
            return FAILED
        after = show(ledger, request_id)
    assert after is not None, "a request is never removed from the ledger"
    resolved = [
        ln["line"]
        for ln in before.summary.lines
        if ln["decision"] == "review" and line in (None, ln["line"])
    ]
    known = {a["key"] for a in before.actions}
    new = [a for a in after.actions if a["key"] not in known]
    console.print(*render_resolution(after, resolved, new, policy, console.style))
    return ACTION_FAILED if any(a["state"] == "failed" for a in new) else OK


# -- history, show --------------------------------------------------------------------


def run_history(
    console: Console,
    *,
    where: HistoryFilter,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """``returnrules history``: recorded requests, newest first, filtered."""
    return guarded(console, _history, where=where, db=db, as_json=as_json)


def _history(
    console: Console, *, where: HistoryFilter, db: str | None, as_json: bool
) -> int:
    with opened(ledger_url(db), create=False) as ledger:
        found = history(ledger, where)
        if as_json:
            console.print(*(json_line(s.to_dict()) for s in found))
            return OK
        labels = recorded_labels(ledger)
    console.print(*render_history(found, labels, console.style, limit=where.limit))
    return OK


def run_show(
    request_id: str, console: Console, *, db: str | None = None, as_json: bool = False
) -> int:
    """``returnrules show``: everything the ledger holds about one request."""
    return guarded(console, _show, request_id, db=db, as_json=as_json)


def _show(console: Console, request_id: str, *, db: str | None, as_json: bool) -> int:
    with opened(ledger_url(db), create=False) as ledger:
        record = show(ledger, request_id)
        if record is None:
            console.error(_not_found(request_id))
            return BAD_INPUT
        if as_json:
            console.print(json_line(record.to_dict()))
            return OK
        policy, note = _policy_of(ledger, record)
    request = _request(policy, record.request)
    console.print(*render_record(record, request, policy, console.style, note=note))
    return OK


# -- ledger verify, db upgrade --------------------------------------------------------


def run_ledger_verify(
    console: Console, *, db: str | None = None, as_json: bool = False
) -> int:
    """``returnrules ledger verify``: is every event intact and in its chain?"""
    return guarded(console, _verify, db=db, as_json=as_json)


def _verify(console: Console, *, db: str | None, as_json: bool) -> int:
    with opened(ledger_url(db), create=False) as ledger:
        result = verify(ledger)
        url = ledger.url
    if as_json:
        console.print(json_line(result.to_dict()))
    else:
        console.print(*render_verification(url, result, console.style))
    return OK if result.intact else FAILED


def run_db_upgrade(console: Console, *, db: str | None = None) -> int:
    """``returnrules db upgrade``: apply the migrations, create plugin tables."""
    return guarded(console, _upgrade, db=db)


def _upgrade(console: Console, *, db: str | None) -> int:
    registry, issues = load_registry()
    problems = [f"returnrules: {i.message}" for i in issues if i.severity == "error"]
    console.error(*problems)
    names = {version: name for version, name, _ in MIGRATIONS}
    with opened(ledger_url(db), create=True) as ledger:
        url = ledger.url
        before = ledger.schema_version()
        if before > LATEST_VERSION:
            ledger.check_schema(create=False)  # says: newer than this returnrules
        applied = ledger.upgrade()
        tables = ledger_tables(ledger)
        ledger.ensure_tables(registry.tables)
        now = ledger_tables(ledger)
    out = [
        f"{url}: applied migration {version:04d}_{names[version]}"
        for version in applied
    ]
    if applied:
        out.append(f"{url}: schema version {before} → {LATEST_VERSION}")
    else:
        out.append(f"{url}: schema version {LATEST_VERSION}, up to date")
    for name, columns in now.items():
        if name not in tables:
            out.append(f"{url}: created table {name}")
        else:
            for column in columns.keys() - tables[name].keys():
                out.append(f"{url}: added column {name}.{column}")
    console.print(*out)
    return FAILED if problems else OK


# -- labels and policies of the record ----------------------------------------------


def recorded_labels(ledger: Ledger) -> Labels:
    """Labels from the core's vocabularies and every recorded policy's
    ``[vocab]`` additions (the newest policy's label wins)."""
    registry, _ = load_registry(autoload=False)
    vocabularies: dict[str, Vocabulary] = dict(registry.vocabularies)
    for recorded in recorded_policies(ledger):
        try:
            doc = tomllib.loads(recorded["text"])
        except tomllib.TOMLDecodeError:
            continue
        known = attrs.evolve(registry, vocabularies=vocabularies)
        vocabularies, _ = merged_vocabularies(doc, known)
    return Labels(vocabularies)


_CORE_POLICY: Final = 'version = 1\n[policy]\ncurrency = "{currency}"\n'


def _policy_of(ledger: Ledger, record: Record) -> tuple[Policy, str]:
    """The policy that decided *record*, loaded again to draw its trace
    with rule titles and labels; if its plugins cannot be loaded here, the
    core alone (and a note saying so)."""
    sha = record.policy["sha256"]
    text = next(p["text"] for p in recorded_policies(ledger) if p["sha256"] == sha)
    source = str(record.policy["source"])
    folder = Path(source).parent
    try:
        return loads_policy(
            text, source=source, base_dir=folder if folder.is_dir() else None
        ), ""
    except PolicyError:
        pass
    try:
        currency = str(tomllib.loads(text)["policy"]["currency"])
        core = loads_policy(_CORE_POLICY.format(currency=currency), autoload=False)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, PolicyError):
        core = loads_policy(_CORE_POLICY.format(currency="CNY"), autoload=False)
    note = (
        f"the policy {source} does not load here (its plugins?): "
        "rule titles and its own labels are missing"
    )
    return core, note
