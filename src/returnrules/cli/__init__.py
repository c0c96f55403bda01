"""The ``returnrules`` command line: parse the arguments, call a command.

What each command does lives in :mod:`returnrules.cli.commands`; this module
only builds the parser (whose help texts teach, with examples) and maps its
result onto a call.  ``main(argv)`` returns the exit status instead of exiting,
so it can be called from tests and other programs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from returnrules import __version__
from returnrules.cli.commands import (
    BAD_INPUT,
    DEFAULT_RULES,
    Console,
    run_check,
    run_eval,
    run_facts,
    run_init,
    run_plugins,
    run_schema,
    run_test,
)
from returnrules.cli.desk import (
    run_db_upgrade,
    run_history,
    run_ledger_verify,
    run_resume,
    run_review_list,
    run_review_resolve,
    run_show,
    run_submit,
)
from returnrules.cli.render_desk import STATUS_LABELS
from returnrules.cli.review import parse_by, run_replay, run_report
from returnrules.desk.report import DEFAULT_BY
from returnrules.desk.views import HistoryFilter
from returnrules.model.convert import CONTROL

__all__ = ["build_parser", "main"]

Run = Callable[[argparse.Namespace, Console], int]

BROKEN_PIPE: Final = 128 + getattr(signal, "SIGPIPE", 13)
"""141: the status of a program the reader of its output left (`| head -1`).

Well-behaved Unix tools (cat, grep, sort) are ended by SIGPIPE then, and the
shell reports 128 + 13; Python ignores the signal and raises BrokenPipeError
instead, so returnrules stops quietly and exits with that same status.  Never
1, which says the policy has errors."""

EXIT_CODES: Final = f"""\
exit status:
  0    done: the policy is clean, every request was evaluated (or recorded),
       every case passed, the ledger is intact
  1    the policy has errors, a case failed, init would overwrite a file, or
       the ledger cannot be used or was tampered with
  2    a request, data or case file is invalid, a request conflicts with a
       recorded one or is not in the ledger, or the command line is wrong
  3    an action failed: it is recorded as failed, and
       `returnrules resume --retry-failed` runs it again
  130  interrupted (Ctrl-C)
  {BROKEN_PIPE}  the reader of the output went away (`| head -1`): stopped quietly,
       as cat or grep would be by SIGPIPE"""

DESCRIPTION: Final = """\
Decide auto-parts returns and cancellations (退单) with a typed policy written
in TOML: check the policy like a type checker, dry-run requests against it
(nothing is executed), and run the policy's own test cases.  At the return
desk, submit requests to a ledger that records each decision, executes its
actions exactly once, and keeps the history for review and audit."""

EPILOG: Final = f"""\
a rule author's round trip:
  returnrules init shop                     a starter rules.toml and test cases
  returnrules check shop/rules.toml         every mistake, FILE:LINE:COL: error: ...
  returnrules eval req.toml --explain       the decision, the actions, and why
  returnrules test                          run tests/policy/*.toml

see what rules can use:
  returnrules facts                         facts, their types and plugins
  returnrules plugins                       checks and actions with parameters
  returnrules schema > rules.schema.json    editor completion for rules.toml

at the return desk (the ledger: --db URL, $RETURNRULES_DB, or ./returnrules.db):
  returnrules submit req.toml --data data.toml   decide, record, execute once
  returnrules review list                   what waits for a person
  returnrules review resolve RT-1 --decision approve --by 王芳
  returnrules history --status failed       recorded requests, newest first
  returnrules show RT-1                     one request's whole record
  returnrules resume --retry-failed         run what a crash or failure left
  returnrules ledger verify                 is every event intact?

{EXIT_CODES}

`returnrules COMMAND --help` tells more about each command."""

CHECK_EPILOG: Final = """\
examples:
  returnrules check                     check ./rules.toml
  returnrules check shop/rules.toml examples/*.toml

Each problem is one line, `FILE:LINE:COL: error: MESSAGE` (warnings say
`warning:`), then `Found N errors.`; a clean policy prints one line such as
`rules.toml: no problems (12 rules)`.  Exit status 1 when there are errors
(warnings alone exit 0, unless --strict).

The analysis warns about rules that can never match, rules whose decide never
wins, single actions that never win, rules with the same conditions,
redundant any/all branches, and (when [policy] default is not review) the
regions no deciding rule reaches.  --analyze adds why, and the table of the
regions that get the default."""

EVAL_EPILOG: Final = """\
examples:
  returnrules eval req.toml                          the decision, at the desk
  returnrules eval req.toml --explain                ... and why, rule by rule
  returnrules eval requests/*.toml --data data.toml  with stock and supplier data
  returnrules eval batch.jsonl --json > out.jsonl    JSON Lines, one per request
  curl -s $URL | returnrules eval - --json           one JSON request on stdin
  returnrules eval req.toml --why-not                what would approve it

Requests are TOML (.toml) or JSON (.json) by extension; a .jsonl file holds one
JSON request per line.  With --json each request gives one line:
  {"request", "decision", "lines": [{"line", "decision", "matched",
   "decided_by", "messages", "actions": [{"action", "rule", ...}], "errors"}]}
plus "trace" with --explain.  An invalid request is reported on stderr with its
file and key path (`req.toml: $.lines[0].qty: must be ≥ 1, got 0`); the others
are still evaluated.  Exit status 1 when the policy has errors, 2 when a
request or the data file is invalid, else 0."""

TEST_EPILOG: Final = """\
examples:
  returnrules test                            every tests/policy/*.toml
  returnrules test tests/policy/refunds.toml -v
  returnrules test --rules draft.toml         the same cases, another policy
  returnrules test --coverage                 ... and what they never exercise
  returnrules test --fail-under 90            exit 1 below 90% coverage

A case file names the policy (`rules = "../../rules.toml"`, relative to the
case file; default ./rules.toml) and has [[case]] tables, each with a name, a
request (a file, or an inline [case.request] table), and [case.expect]:

  [[case]]
  name = "a wrong part is refunded in full"
  request = "../requests/wrong-part.toml"
  [case.expect]
  decision = "approve"
  lines = [{ line = 1, decided_by = ["wrong-part"],
             actions = [{ action = "refund", amount = "370.00" }] }]

Listed action fields are compared, the action names must match exactly.  The
run ends with `N passed, N failed`.  Exit status 1 when a case failed, 2 when a
case file is malformed or none was found.

--coverage evaluates the cases with a trace and lists, at FILE:LINE:COL of the
policy, the rules no case matched and the branches no case exercised, with
the two percentages.  A rule is exercised when it matched at least one line.
Its branches are the leaves of its `when` (comparisons, present, checks) and
every all/any nested inside it (a `not` counts with what it wraps); a branch
is exercised when it was true on some line and false on some line ("never
true", "never false", or "never evaluated" when a short circuit always
skipped it).  --fail-under PERCENT (implies --coverage) exits 1 when the rules'
or the branches' percentage is below PERCENT."""

SCHEMA_EPILOG: Final = """\
examples:
  returnrules schema > rules.schema.json
  returnrules schema --rules rules.toml > rules.schema.json

Then put `#:schema ./rules.schema.json` on the first line of rules.toml: Taplo
and Even Better TOML complete fact, check and action names, parameters,
operators and vocabulary codes.  Without --rules, a code of an open vocabulary
(reason, category...) may be any code, since a policy's [vocab] can add it;
the known ones are offered.  With --rules, the policy's [plugins] and [vocab]
additions are included and codes must be exactly the policy's: run it again
after changing them."""

LISTING_EPILOG: Final = """\
examples:
  returnrules {name}
  returnrules {name} --rules rules.toml     include the policy's [plugins]
  returnrules {name} --json"""

INIT_EPILOG: Final = """\
examples:
  returnrules init                 in the current directory
  returnrules init shop && returnrules check shop/rules.toml

Writes DIR/rules.toml and DIR/tests/policy/starter.toml; refuses (exit status
1) when either exists."""

_LEDGER: Final = """\
The ledger is --db URL: a path or sqlite:///PATH (SQLite), or
postgresql://USER@HOST/DB (PostgreSQL, with the postgres extra, for several
desks sharing one ledger); default $RETURNRULES_DB, else ./returnrules.db.
A ledger that cannot be used is one line on stderr, exit status 1."""

SUBMIT_EPILOG: Final = f"""\
examples:
  returnrules submit req.toml --data data.toml       decide, record, execute
  returnrules submit today.jsonl --json > out.jsonl  JSON Lines, streamed
  returnrules submit req.toml --db postgresql://desk@db/returns --by 王芳

Each request is decided as `eval` decides it, recorded with the data it was
decided with, then its actions are executed once each.  A request id already
recorded with the same content is not decided or executed again: its recorded
result is printed.  The same id with other content is refused (conflict) and
nothing changes.  With --json each request gives one line: the `eval --json`
object (with its trace) plus "status".  Exit status 0 when every request was
recorded, 1 when the policy is invalid, 2 when a request or the data file is
invalid or a conflict (the valid requests are still recorded; 2 wins over 3),
3 when an action failed (recorded as failed: `returnrules resume
--retry-failed` runs it again).

{_LEDGER}"""

RESUME_EPILOG: Final = f"""\
examples:
  returnrules resume                  run the actions a crash left pending
  returnrules resume --retry-failed   ... and the ones that failed

Each action runs under its idempotency key, and never again once done.  The
executors are the plugins' of --rules (default ./rules.toml).  Prints each
action run and how it ended, then the journal's counts.  Exit status 0 when
no action is failed, 3 when some still are.

{_LEDGER}"""

REVIEW_EPILOG: Final = """\
examples:
  returnrules review list
  returnrules review resolve RT-2026-0009 --decision approve --by 王芳 \\
      --note "照片确认未安装"

`resolve` makes a person's decision the line's (every line in review, or
--line N) and executes the actions that follow from it, once."""

REVIEW_LIST_EPILOG: Final = f"""\
examples:
  returnrules review list
  returnrules review list --json      one request per line (JSON Lines)

{_LEDGER}"""

RESOLVE_EPILOG: Final = f"""\
examples:
  returnrules review resolve RT-2026-0009 --decision approve --by 王芳
  returnrules review resolve RT-2026-0009 --line 2 --decision reject \\
      --by 王芳 --note "已安装，不退"

The line's decision becomes the person's; the actions the policy's matched
rules plan for that decision are executed once; an event records who and why.
Exit status 0 when done, 2 when the request is not in the ledger or has no
such line waiting for review, 3 when an action failed (`returnrules resume
--retry-failed` runs it again), 1 when the policy or the ledger cannot be
used.

{_LEDGER}"""

HISTORY_EPILOG: Final = f"""\
examples:
  returnrules history                               the newest 100 requests
  returnrules history --customer C-1001 --since 2026-11-01
  returnrules history --status review --reason defective --json

Statuses: {", ".join(f"{code} {label}" for code, label in STATUS_LABELS.items())}.
Dates are the day a request was received, in UTC (--since from its start,
--until to its end).  With --json each request gives one line.

{_LEDGER}"""

REPORT_EPILOG: Final = f"""\
examples:
  returnrules report                                  every line, every grouping
  returnrules report --since 2026-11-01 --until 2026-11-30 --by reason,supplier
  returnrules report --csv > returns.csv              one table for a spreadsheet
  returnrules report --html review.html               a page with charts (offline)

Per group (reason, category, supplier, brand, customer, month, deciding
rule): the lines, how they were decided, the approval rate (of decided lines),
the refunds paid and the fees kept; a supplier's defect rate is its defective
quantity over what the ledger knows it sold, else over what came back (the
basis column says which).  The database does the grouping.  --html needs the
report extra (matplotlib) and a CJK font for Chinese chart labels (Debian:
fonts-wqy-zenhei); without one the charts show the codes.

{_LEDGER}"""

REPLAY_EPILOG: Final = f"""\
examples:
  returnrules replay --rules draft.toml               the history under a draft
  returnrules replay --rules draft.toml --since 2026-10-01 --json
  returnrules replay --rules draft.toml --fail-on-change      in a policy's CI
  returnrules replay requests/*.toml --rules new.toml --against rules.toml
  returnrules replay --rules draft.toml --engine dask --scheduler tcp://h:8786

Each recorded request is decided again under --rules with what the desk knew
then: the request as given, the data snapshot, the data providers' answers
(played back, not asked again) and what earlier requests had taken back.  It
prints the lines whose decision, deciding rules or refund change, the matrix
of decisions before → after, the refunds before and after, and the rules
whose counts change.  Replaying under the policy that decided them reproduces
every recorded decision and amount, and says so.  --jobs N decides in N
worker processes; --engine dask on a Dask cluster (the dask extra; without
--scheduler, a local one of N worker processes, at least 2).
Exit status 1 with --fail-on-change when anything changed; 2 when a request
cannot be decided again (it is named on stderr; the rest is replayed and shown).

{_LEDGER}"""

SHOW_EPILOG: Final = f"""\
examples:
  returnrules show RT-2026-0001
  returnrules show RT-2026-0001 --json | jq .actions

The request as given, what the data providers answered for each line, the
decision and why, every action (key, state, attempts, result or error) and
every event (time, who, what, note).  Exit status 2 when the request is not
in the ledger.

{_LEDGER}"""

LEDGER_EPILOG: Final = """\
examples:
  returnrules ledger verify"""

VERIFY_EPILOG: Final = f"""\
examples:
  returnrules ledger verify
  returnrules ledger verify --db postgresql://desk@db/returns --json

Walks every event in order and checks its hash and its place in the chain.
Exit status 0 when intact: it prints the head (its seq and hash) - keep that
somewhere else too, a copy cannot be rebuilt unnoticed against it.  Exit
status 1 listing each edited, removed or reordered event.

{_LEDGER}"""

DB_EPILOG: Final = """\
examples:
  returnrules db upgrade"""

UPGRADE_EPILOG: Final = f"""\
examples:
  returnrules db upgrade
  RETURNRULES_DB=postgresql://desk@db/returns returnrules db upgrade

Applies the migrations the ledger has not had (creating a new ledger), and
creates or extends the tables of the installed plugins' executors.

{_LEDGER}"""


def _text(text: str) -> str:
    """An argument of free text (a name, a note): not blank, no control
    characters, at most 1,000 characters - what the ledger records."""
    if not text.strip():
        raise argparse.ArgumentTypeError("it is empty")
    if CONTROL.search(text):
        raise argparse.ArgumentTypeError("control characters are not allowed")
    if len(text) > 1000:
        raise argparse.ArgumentTypeError("at most 1,000 characters")
    return text


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (write YYYY-MM-DD)"
        ) from None


def _dimensions(text: str) -> tuple[str, ...]:
    try:
        return parse_by(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of jobs: {text!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError("jobs must be 0 (one per core) or more")
    return jobs


def _percent(text: str) -> float:
    try:
        percent = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0 <= percent <= 100:
        raise argparse.ArgumentTypeError("a percentage is between 0 and 100")
    return percent


@attrs.frozen
class Arg:
    """One ``add_argument`` call: its names and options."""

    names: tuple[str, ...]
    options: Mapping[str, Any]


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


@attrs.frozen
class Command:
    """A subcommand: its name, one-line help, examples, arguments and run.

    A command with *subcommands* (``review list``, ``review resolve``) is a
    group: its own *run* is None, and naming no subcommand prints its help.
    """

    name: str
    help: str
    epilog: str
    run: Run | None
    args: tuple[Arg, ...] = ()
    subcommands: tuple[Command, ...] = ()


RULES = arg("--rules", metavar="RULES", default=DEFAULT_RULES,
            help=f"the policy file (default: ./{DEFAULT_RULES})")  # fmt: skip
PLUGINS_OF = arg(
    "--rules",
    metavar="RULES",
    default=None,
    help="also load the plugins of this policy's [plugins] (and its [vocab] codes)",
)
AS_JSON = arg("--json", action="store_true", help="print JSON")
AS_JSON_LINES = arg(
    "--json", action="store_true", help="print JSON Lines: one object per request"
)
DB = arg(
    "--db",
    metavar="URL",
    default=None,
    help="the ledger: a path, sqlite:///PATH or postgresql://... "
    "(default: $RETURNRULES_DB, else ./returnrules.db)",
)
DESK_RULES = arg(
    "--rules",
    metavar="RULES",
    default=DEFAULT_RULES,
    help="the policy whose plugins' executors run the actions "
    f"(default: ./{DEFAULT_RULES})",
)
BY = arg(
    "--by",
    metavar="NAME",
    type=_text,
    default=None,
    help="who is at the desk, for the record (default: the OS user)",
)

COMMANDS: Final[tuple[Command, ...]] = (
    Command(
        "check",
        "type-check policies and report every problem",
        CHECK_EPILOG,
        lambda a, c: run_check(a.rules, c, strict=a.strict, analyze=a.analyze),
        (
            arg("rules", nargs="*", metavar="RULES", default=[DEFAULT_RULES],
                help=f"policy files (default: ./{DEFAULT_RULES})"),
            arg("--strict", action="store_true",
                help="report warnings as errors (exit status 1)"),
            arg("--analyze", action="store_true",
                help="the long form: why each finding holds, and the regions "
                "that get [policy] default"),
        ),
    ),
    Command(
        "eval",
        "dry-run requests: the decision, the planned actions, and why",
        EVAL_EPILOG,
        lambda a, c: run_eval(
            a.requests, c, rules=a.rules, data=a.data, as_json=a.json,
            explain=a.explain, jobs=a.jobs, progress=a.progress,
            why_not=a.target if a.why_not else None,
        ),
        (
            arg("requests", nargs="+", metavar="REQUEST",
                help="request files (.toml, .json, .jsonl), or - for one JSON "
                "request on stdin"),
            RULES,
            arg("--data", metavar="DATA",
                help="data for the plugins (stock, suppliers...): a .toml or "
                ".json file"),
            arg("--json", action="store_true",
                help="print JSON Lines: one object per request"),
            arg("--explain", action="store_true",
                help="show every rule, matched or not, and each condition with "
                "its value"),
            arg("--jobs", "-j", type=_jobs, default=1, metavar="N",
                help="evaluate in N worker processes, output in input order "
                "(0: one per core; default 1)"),
            arg("--why-not", action="store_true",
                help="for each rejected or reviewed line, the smallest changes of "
                "the policy's actionable facts that would give --target"),
            arg("--target", choices=("approve", "review", "reject"),
                default="approve", help="the decision --why-not looks for "
                "(default: approve)"),
            arg("--progress", action=argparse.BooleanOptionalAction, default=None,
                help="show count, rate and time left on stderr (default: on a "
                "terminal)"),
        ),
    ),
    Command(
        "test",
        "run the policy's test cases and report what differed",
        TEST_EPILOG,
        lambda a, c: run_test(
            a.cases, c, rules=a.rules, verbose=a.verbose, coverage=a.coverage,
            fail_under=a.fail_under,
        ),
        (
            arg("cases", nargs="*", metavar="CASES",
                help="case files or directories (default: tests/policy/*.toml)"),
            arg("--rules", metavar="RULES",
                help="run every case against this policy instead of the one "
                "each file names"),
            arg("-v", "--verbose", action="store_true",
                help="also list the cases that pass"),
            arg("--coverage", action="store_true",
                help="list the rules and branches of the policy that no case "
                "exercises, with FILE:LINE:COL, and the percentages"),
            arg("--fail-under", type=_percent, metavar="PERCENT",
                help="exit 1 when the rules' or the branches' coverage is below "
                "PERCENT (implies --coverage)"),
        ),
    ),
    Command(
        "schema",
        "print the JSON Schema of the policy file, for TOML editors",
        SCHEMA_EPILOG,
        lambda a, c: run_schema(c, rules=a.rules),
        (PLUGINS_OF,),
    ),
    Command(
        "plugins",
        "list the plugins, and the checks and actions they add",
        LISTING_EPILOG.format(name="plugins"),
        lambda a, c: run_plugins(c, rules=a.rules, as_json=a.json),
        (PLUGINS_OF, AS_JSON),
    ),
    Command(
        "facts",
        "list the facts a rule can test, with types and plugins",
        LISTING_EPILOG.format(name="facts"),
        lambda a, c: run_facts(c, rules=a.rules, as_json=a.json),
        (PLUGINS_OF, AS_JSON),
    ),
    Command(
        "init",
        "write a starter rules.toml and test cases",
        INIT_EPILOG,
        lambda a, c: run_init(a.directory, c),
        (
            arg("directory", nargs="?", default=".", metavar="DIR",
                help="where to write them (default: the current directory)"),
        ),
    ),
    Command(
        "submit",
        "decide, record and execute requests at the desk",
        SUBMIT_EPILOG,
        lambda a, c: run_submit(
            a.requests, c, rules=a.rules, data=a.data, db=a.db, as_json=a.json,
            explain=a.explain, by=a.by,
        ),
        (
            arg("requests", nargs="+", metavar="REQUEST",
                help="request files (.toml, .json, .jsonl), or - for one JSON "
                "request on stdin"),
            RULES,
            arg("--data", metavar="DATA",
                help="data for the plugins (stock, suppliers...): a .toml or "
                ".json file"),
            DB,
            AS_JSON_LINES,
            arg("--explain", action="store_true",
                help="with --json, add each decision's trace (as eval --explain)"),
            BY,
        ),
    ),
    Command(
        "resume",
        "execute the actions a crash (or a failure) left undone",
        RESUME_EPILOG,
        lambda a, c: run_resume(
            c, rules=a.rules, db=a.db, retry_failed=a.retry_failed, by=a.by
        ),
        (
            DB,
            DESK_RULES,
            arg("--retry-failed", action="store_true",
                help="also run the actions that failed again"),
            BY,
        ),
    ),
    Command(
        "review",
        "list and resolve the lines waiting for a person",
        REVIEW_EPILOG,
        None,
        subcommands=(
            Command(
                "list",
                "list the requests with lines waiting for review",
                REVIEW_LIST_EPILOG,
                lambda a, c: run_review_list(c, db=a.db, as_json=a.json),
                (DB, AS_JSON_LINES),
            ),
            Command(
                "resolve",
                "decide a request's review lines and execute what follows",
                RESOLVE_EPILOG,
                lambda a, c: run_review_resolve(
                    a.request_id, c, decision=a.decision, by=a.by, line=a.line,
                    note=a.note, db=a.db, rules=a.rules,
                ),
                (
                    arg("request_id", metavar="REQUEST_ID",
                        help="the request's id"),
                    arg("--line", metavar="N", type=_positive, default=None,
                        help="the order line to decide (default: every line "
                        "in review)"),
                    arg("--decision", required=True, choices=("approve", "reject"),
                        help="the person's decision"),
                    arg("--by", metavar="NAME", required=True, type=_text,
                        help="who decides, for the record"),
                    arg("--note", metavar="TEXT", type=_text,
                        help="why, for the record"),
                    DB,
                    DESK_RULES,
                ),
            ),
        ),
    ),
    Command(
        "history",
        "list recorded requests, newest first",
        HISTORY_EPILOG,
        lambda a, c: run_history(
            c,
            where=HistoryFilter(
                order=a.order, customer=a.customer, status=a.status,
                reason=a.reason, since=a.since, until=a.until, limit=a.limit,
            ),
            db=a.db,
            as_json=a.json,
        ),
        (
            arg("--order", metavar="ID", help="only this order's requests"),
            arg("--customer", metavar="ID", help="only this customer's requests"),
            arg("--status", metavar="S", choices=tuple(STATUS_LABELS),
                help="only requests in this status: "
                + ", ".join(STATUS_LABELS)),
            arg("--reason", metavar="R",
                help="only requests with a line for this reason code"),
            arg("--since", metavar="DATE", type=_date,
                help="received on or after this day (YYYY-MM-DD, UTC)"),
            arg("--until", metavar="DATE", type=_date,
                help="received on or before this day (YYYY-MM-DD, UTC)"),
            arg("--limit", metavar="N", type=_positive, default=100,
                help="at most N requests, the newest (default: 100)"),
            AS_JSON_LINES,
            DB,
        ),
    ),
    Command(
        "show",
        "show one request's whole record in the ledger",
        SHOW_EPILOG,
        lambda a, c: run_show(a.request_id, c, db=a.db, as_json=a.json),
        (
            arg("request_id", metavar="REQUEST_ID", help="the request's id"),
            arg("--json", action="store_true", help="print the record as JSON"),
            DB,
        ),
    ),
    Command(
        "report",
        "review the returns of a period: by reason, supplier, customer, month...",
        REPORT_EPILOG,
        lambda a, c: run_report(
            c, since=a.since, until=a.until, by=a.by, html=a.html, db=a.db,
            output="json" if a.json else "csv" if a.csv else "table",
        ),
        (
            arg("--since", metavar="DATE", type=_date,
                help="lines received on or after this day (YYYY-MM-DD, UTC)"),
            arg("--until", metavar="DATE", type=_date,
                help="lines received on or before this day (YYYY-MM-DD, UTC)"),
            arg("--by", metavar="DIMENSIONS", type=_dimensions, default=DEFAULT_BY,
                help="group by these, comma-separated (default: "
                + ",".join(DEFAULT_BY) + "; also brand)"),
            arg("--json", action="store_true", help="print the report as JSON"),
            arg("--csv", action="store_true", help="print one CSV table"),
            arg("--html", metavar="FILE",
                help="write a self-contained page with charts to FILE"),
            DB,
        ),
    ),
    Command(
        "replay",
        "decide the history again under a new policy: what would change?",
        REPLAY_EPILOG,
        lambda a, c: run_replay(
            a.requests, c, rules=a.rules, against=a.against, data=a.data,
            since=a.since, until=a.until, as_json=a.json, html=a.html,
            fail_on_change=a.fail_on_change, engine=a.engine,
            scheduler=a.scheduler, jobs=a.jobs, db=a.db,
        ),
        (
            arg("requests", nargs="*", metavar="REQUEST",
                help="request files to replay instead of the ledger's history "
                "(with --against)"),
            arg("--rules", metavar="NEW", required=True,
                help="the policy to decide with"),
            arg("--against", metavar="OLD",
                help="for request files: the policy to compare with"),
            arg("--data", metavar="DATA",
                help="for request files: data for the plugins"),
            arg("--since", metavar="DATE", type=_date,
                help="requests received on or after this day (UTC)"),
            arg("--until", metavar="DATE", type=_date,
                help="requests received on or before this day (UTC)"),
            arg("--json", action="store_true", help="print the comparison as JSON"),
            arg("--html", metavar="FILE",
                help="write a self-contained page to FILE"),
            arg("--fail-on-change", action="store_true",
                help="exit 1 when any line changes"),
            arg("--engine", choices=("local", "dask"), default="local",
                help="where to decide: here (default) or on Dask"),
            arg("--scheduler", metavar="ADDRESS",
                help="a Dask scheduler (tcp://host:8786); default: a local cluster"),
            arg("--jobs", "-j", type=_jobs, default=1, metavar="N",
                help="worker processes (default 1; 0: one per core)"),
            DB,
        ),
    ),
    Command(
        "ledger",
        "check the ledger's event chain",
        LEDGER_EPILOG,
        None,
        subcommands=(
            Command(
                "verify",
                "check that every event is intact and in its chain",
                VERIFY_EPILOG,
                lambda a, c: run_ledger_verify(c, db=a.db, as_json=a.json),
                (DB, AS_JSON),
            ),
        ),
    ),
    Command(
        "db",
        "manage the ledger's database schema",
        DB_EPILOG,
        None,
        subcommands=(
            Command(
                "upgrade",
                "apply the ledger's migrations, create the plugins' tables",
                UPGRADE_EPILOG,
                lambda a, c: run_db_upgrade(c, db=a.db),
                (DB,),
            ),
        ),
    ),
)  # fmt: skip
"""Every subcommand, in the order ``--help`` lists them."""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    """The parser of ``returnrules`` and its subcommands (:data:`COMMANDS`)."""
    parser = argparse.ArgumentParser(
        prog="returnrules",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"returnrules {__version__}"
    )
    _add_commands(parser, commands, "command")
    return parser


def _add_commands(
    parser: argparse.ArgumentParser, commands: Sequence[Command], dest: str
) -> None:
    subparsers = parser.add_subparsers(title="commands", dest=dest, metavar="COMMAND")
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help[0].upper() + command.help[1:] + ".",
            epilog=command.epilog,
            formatter_class=_formatter,
        )
        sub.set_defaults(run=command.run or _help_of(sub))
        for argument in command.args:
            sub.add_argument(*argument.names, **argument.options)
        if command.subcommands:
            _add_commands(sub, command.subcommands, f"{dest}_{command.name}")


def _help_of(parser: argparse.ArgumentParser) -> Run:
    """The run of a group named without a subcommand: its help, status 2."""

    def run(args: argparse.Namespace, console: Console) -> int:
        parser.print_help(console.err)
        return BAD_INPUT

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``returnrules`` with *argv* (default ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else BAD_INPUT
    if args.command is None:
        parser.print_help(sys.stderr)
        return BAD_INPUT
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    if since is not None and until is not None and since > until:
        # (an empty period would "reproduce every recorded decision")
        print(
            f"returnrules {args.command}: error: --since {since} is after "
            f"--until {until}: no day is in that period",
            file=sys.stderr,
        )
        return BAD_INPUT
    for stream in (sys.stdout, sys.stderr):
        # Chinese labels on a terminal that cannot show them: never a traceback.
        if (getattr(stream, "encoding", None) or "").lower().replace("-", "") != "utf8":
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
    console = Console(sys.stdout, sys.stderr, getattr(sys.stdin, "buffer", None))
    run: Run = args.run
    try:
        # The command writes through the console; anything else printed while
        # it runs (a plugin's print) goes to stderr, never into the output.
        with contextlib.redirect_stdout(sys.stderr):
            status = run(args, console)
        sys.stdout.flush()  # a reader gone away shows here, if not before
        return status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`returnrules eval ... | head -1`): stop
        # quietly with SIGPIPE's status, and keep Python from failing again
        # when it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE
