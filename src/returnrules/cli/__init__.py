"""The ``returnrules`` command line: parse the arguments, call a command.

What each command does lives in :mod:`returnrules.cli.commands`; this module
only builds the parser (whose help texts teach, with examples) and maps its
result onto a call.  ``main(argv)`` returns the exit status instead of exiting,
so it can be called from tests and other programs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
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

__all__ = ["build_parser", "main"]

Run = Callable[[argparse.Namespace, Console], int]

EXIT_CODES: Final = """\
exit status:
  0  done: the policy is clean, every request was evaluated, every case passed
  1  the policy has errors, a case failed, or init would overwrite a file
  2  a request, data or case file is invalid, or the command line is wrong"""

DESCRIPTION: Final = """\
Decide auto-parts returns and cancellations (退单) with a typed policy written
in TOML: check the policy like a type checker, dry-run requests against it
(nothing is executed), and run the policy's own test cases."""

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
operators and vocabulary codes.  With --rules, the policy's [plugins] and
[vocab] additions are included."""

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
    """A subcommand: its name, one-line help, examples, arguments and run."""

    name: str
    help: str
    epilog: str
    run: Run
    args: tuple[Arg, ...] = ()


RULES = arg("--rules", metavar="RULES", default=DEFAULT_RULES,
            help=f"the policy file (default: ./{DEFAULT_RULES})")  # fmt: skip
PLUGINS_OF = arg(
    "--rules",
    metavar="RULES",
    default=None,
    help="also load the plugins of this policy's [plugins] (and its [vocab] codes)",
)
AS_JSON = arg("--json", action="store_true", help="print JSON")

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
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND"
    )
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help[0].upper() + command.help[1:] + ".",
            epilog=command.epilog,
            formatter_class=_formatter,
        )
        sub.set_defaults(run=command.run)
        for argument in command.args:
            sub.add_argument(*argument.names, **argument.options)
    return parser


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
            return run(args, console)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`returnrules eval ... | head`): stop quietly,
        # and keep Python from failing again when it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
