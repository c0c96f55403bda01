"""Plugin discovery (file, module, entry point, code), disabling, and failures.

Every failure of a plugin is a policy problem naming the plugin, never a
traceback.  The entry-point tests make a throw-away ``*.dist-info`` directory
on ``sys.path``; the entry points installed in the venv are disabled through
``RETURNRULES_DISABLE_PLUGINS`` so that these tests see only their own.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules import PolicyError, hookspecs, load_policy, loads_policy
from tests.plugins import sample

HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\n'

VIP_FILE = """\
from returnrules import Check, Fact, FactType, hookimpl


def is_vip(ctx):
    return ctx.request.customer.tier == "vip"


@hookimpl
def returnrules_register_facts(register):
    register(Fact("local.vip", FactType("bool"), is_vip))


@hookimpl
def returnrules_register_checks(register):
    register(Check("big_order", lambda ctx, params: ctx.line.qty >= 2))
"""

DEMO_MODULE = """\
from returnrules import Fact, FactType, hookimpl


@hookimpl
def returnrules_register_facts(register):
    register(Fact("demo.answer", FactType("int"), lambda ctx: 42))
"""

USES_VIP = """
[[rule]]
id = "vip"
when = { all = [ { fact = "local.vip", eq = false }, { check = "big_order" } ] }
decide = "approve"
"""


@pytest.fixture(autouse=True)
def _modules_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests load plugins by module name as a host that allows them would;
    what a policy may load without that is tested at the end of the module."""
    monkeypatch.setenv("RETURNRULES_ALLOW_MODULES", "*")


@pytest.fixture(autouse=True)
def _forget_imported_plugins() -> Iterator[None]:
    """Plugin modules imported by a test do not leak into the next one."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("_returnrules_plugin_", "rr_")):
            del sys.modules[name]


@pytest.fixture
def only_test_entry_points(monkeypatch: pytest.MonkeyPatch) -> str:
    """Disable whatever is installed in the ``returnrules`` group, for isolation.

    Returns the value of ``RETURNRULES_DISABLE_PLUGINS`` it set, for a test to
    extend.
    """
    installed = {ep.name for ep in importlib.metadata.entry_points(group="returnrules")}
    blocked = ",".join(sorted(installed))
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGINS", blocked)
    monkeypatch.delenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return blocked


def make_distribution(
    where: Path, monkeypatch: pytest.MonkeyPatch, entry_points: dict[str, str]
) -> None:
    """A fake installed distribution ``rr-demo`` with *entry_points* (name → module)."""
    info = where / "rr_demo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: rr-demo\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text(
        "[returnrules]\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(where))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(call: Any) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        call()
    return [str(p) for p in caught.value.problems]


def plugin_names(policy: returnrules.Policy) -> list[str]:
    return [info.name for info in policy.registry.plugins]


# -- where plugins come from -----------------------------------------------------------


def test_a_plugin_file_is_found_relative_to_the_policy_file(
    tmp_path: Path,
    request_dict: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write(tmp_path / "local" / "vip.py", VIP_FILE)
    rules = write(
        tmp_path / "rules.toml",
        HEAD + '[plugins]\nmodules = ["local/vip.py"]\n' + USES_VIP,
    )
    monkeypatch.chdir(tmp_path.parent)  # not the policy's directory
    policy = load_policy(rules, autoload=False)
    vip = policy.registry.plugins[-1]
    assert (vip.name, vip.origin, vip.source) == ("vip", "file", "local/vip.py")
    assert (vip.facts, vip.checks) == (("local.vip",), ("big_order",))
    assert policy.evaluate(request_dict).decision == "approve"


def test_a_plugin_file_of_loads_policy_is_relative_to_base_dir(
    tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    write(tmp_path / "vip.py", VIP_FILE)
    policy = loads_policy(
        HEAD + '[plugins]\nmodules = ["vip.py"]\n' + USES_VIP,
        base_dir=tmp_path,
        autoload=False,
    )
    assert policy.evaluate(request_dict).decision == "approve"


def test_a_plugin_is_loaded_by_module_name(request_dict: dict[str, Any]) -> None:
    policy = loads_policy(
        HEAD + '[plugins]\nmodules = ["tests.plugins.vip"]\n'
        '[[rule]]\nid = "vip"\nwhen = { check = "is_vip" }\ndecide = "approve"\n'
        '[[rule]]\nid = "no-discount"\nwhen = { fact = "vip.discount", eq = 0 }\n'
        'decide = "review"\n',
        autoload=False,
    )
    info = policy.registry.plugins[-1]
    assert (info.name, info.origin, info.source) == (
        "vip",
        "module",
        "tests.plugins.vip",
    )
    assert policy.evaluate(request_dict).lines[0].matched == ("no-discount",)
    request_dict["customer"]["tier"] = "vip"
    assert policy.evaluate(request_dict).lines[0].matched == ("vip",)


def test_a_plugin_object_is_passed_in_code() -> None:
    policy = loads_policy(HEAD, plugins=[sample], autoload=False)
    assert plugin_names(policy) == ["core", "tests.plugins.sample"]
    assert policy.registry.plugins[1].origin == "object"
    assert set(policy.registry.checks) == {"flag", "explode", "sloppy"}


def test_the_core_is_a_plugin_like_any_other() -> None:
    policy = loads_policy(HEAD, autoload=False)
    (core,) = policy.registry.plugins
    assert (core.name, core.origin) == ("core", "built-in")
    assert "line.qty" in core.facts
    assert "reason" in core.vocabularies


def test_a_plugin_is_discovered_by_entry_point(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request_dict: dict[str, Any],
    only_test_entry_points: str,
) -> None:
    write(tmp_path / "rr_demo_plugin.py", DEMO_MODULE)
    make_distribution(tmp_path, monkeypatch, {"demo": "rr_demo_plugin"})
    policy = loads_policy(
        HEAD + '[[rule]]\nid = "answer"\nwhen = { fact = "demo.answer", eq = 42 }\n'
        'decide = "approve"\n'
    )
    demo = policy.registry.plugins[-1]
    assert (demo.name, demo.origin) == ("demo", "entry point")
    assert demo.source == "rr_demo_plugin from rr-demo"
    assert policy.evaluate(request_dict).decision == "approve"


def test_autoload_false_skips_the_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only_test_entry_points: str
) -> None:
    write(tmp_path / "rr_demo_plugin.py", DEMO_MODULE)
    make_distribution(tmp_path, monkeypatch, {"demo": "rr_demo_plugin"})
    assert "demo" not in plugin_names(loads_policy(HEAD, autoload=False))


def test_the_autoload_environment_variable_skips_the_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only_test_entry_points: str
) -> None:
    write(tmp_path / "rr_demo_plugin.py", DEMO_MODULE)
    make_distribution(tmp_path, monkeypatch, {"demo": "rr_demo_plugin"})
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "demo" not in plugin_names(loads_policy(HEAD))
    # an explicit autoload=True in code wins over the environment
    assert "demo" in plugin_names(loads_policy(HEAD, autoload=True))


def test_plugins_disable_blocks_an_entry_point_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only_test_entry_points: str
) -> None:
    write(tmp_path / "rr_demo_plugin.py", DEMO_MODULE)
    make_distribution(tmp_path, monkeypatch, {"demo": "rr_demo_plugin"})
    policy = loads_policy(HEAD + '[plugins]\ndisable = ["demo"]\n')
    assert "demo" not in plugin_names(policy)
    assert policy.warnings == ()


def test_the_disable_environment_variable_blocks_plugins_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only_test_entry_points: str
) -> None:
    write(tmp_path / "rr_demo_plugin.py", DEMO_MODULE)
    make_distribution(tmp_path, monkeypatch, {"demo": "rr_demo_plugin"})
    assert "demo" in plugin_names(loads_policy(HEAD))
    blocked = only_test_entry_points
    monkeypatch.setenv(
        "RETURNRULES_DISABLE_PLUGINS", f"{blocked},  something-else , demo,"
    )
    policy = loads_policy(HEAD + '[plugins]\nmodules = ["tests.plugins.vip"]\n')
    assert plugin_names(policy) == ["core", "vip"]
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGINS", f"{blocked},vip")
    assert "vip" not in plugin_names(
        loads_policy(HEAD + '[plugins]\nmodules = ["tests.plugins.vip"]\n')
    )


def test_a_disabled_plugin_is_not_even_imported(tmp_path: Path) -> None:
    write(tmp_path / "vip.py", "raise RuntimeError('imported!')\n")
    policy = loads_policy(
        HEAD + '[plugins]\nmodules = ["vip.py"]\ndisable = ["vip"]\n',
        base_dir=tmp_path,
        autoload=False,
    )
    assert plugin_names(policy) == ["core"]


def test_a_rule_using_a_disabled_plugin_is_an_unknown_name(tmp_path: Path) -> None:
    write(tmp_path / "vip.py", VIP_FILE)
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["vip.py"]\ndisable = ["vip"]\n' + USES_VIP,
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert found == [
        'rules.toml:10:27: error: unknown fact "local.vip"',
        'rules.toml:10:64: error: unknown check "big_order"',
    ]


# -- failures are problems, not tracebacks ---------------------------------------------


def test_a_plugin_file_that_fails_to_import_is_a_problem_naming_it(
    tmp_path: Path,
) -> None:
    write(tmp_path / "plugins" / "vip.py", "import nonexistent_module_xyz\n")
    rules = write(
        tmp_path / "rules.toml",
        HEAD + '[plugins]\nmodules = [\n  "plugins/vip.py",\n]\n',
    )
    assert problems_of(lambda: load_policy(rules, autoload=False)) == [
        f'{rules}:6:3: error: plugin "vip" (plugins/vip.py) failed to import: '
        "ModuleNotFoundError: No module named 'nonexistent_module_xyz'"
    ]


def test_a_plugin_module_that_raises_on_import_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "rr_broken_plugin.py", "x = 1\nraise ValueError('bad config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["rr_broken_plugin"]\n',
            source="rules.toml",
            autoload=False,
        )
    )
    assert found == [
        'rules.toml:5:12: error: plugin "rr_broken_plugin" (rr_broken_plugin) '
        "failed to import: ValueError: bad config"
    ]
    assert "Traceback" not in found[0]


def test_a_plugin_that_calls_sys_exit_on_import_does_not_end_the_process(
    tmp_path: Path,
) -> None:
    write(tmp_path / "quitter.py", "import sys\nsys.exit(3)\n")
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["quitter.py"]\n',
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert found == [
        'rules.toml:5:12: error: plugin "quitter" (quitter.py) failed to import: '
        "SystemExit: 3"
    ]


def test_a_plugin_file_with_a_syntax_error_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "vip.py", "def broken(:\n")
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["vip.py"]\n',
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert len(found) == 1
    assert found[0].startswith(
        'rules.toml:5:12: error: plugin "vip" (vip.py) failed to import: SyntaxError: '
    )


def test_an_unknown_plugin_module_is_a_problem() -> None:
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["tests.plugins.nope"]\n',
            source="rules.toml",
            autoload=False,
        )
    )
    assert found == [
        'rules.toml:5:12: error: plugin "nope" (tests.plugins.nope) failed to '
        "import: ModuleNotFoundError: No module named 'tests.plugins.nope'"
    ]


def test_an_entry_point_that_fails_to_import_is_a_problem_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, only_test_entry_points: str
) -> None:
    write(tmp_path / "rr_demo_plugin.py", DEMO_MODULE)
    make_distribution(
        tmp_path,
        monkeypatch,
        {"demo": "rr_demo_plugin", "ghost": "rr_ghost_plugin_missing"},
    )
    found = problems_of(lambda: loads_policy(HEAD, source="rules.toml"))
    assert found == [
        'rules.toml:1:1: error: plugin "ghost" (rr_ghost_plugin_missing from rr-demo) '
        "failed to import: ModuleNotFoundError: No module named "
        "'rr_ghost_plugin_missing'"
    ]
    # disabling the broken entry point lets the policy load
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGINS", f"{only_test_entry_points},ghost")
    assert "demo" in plugin_names(loads_policy(HEAD))


def test_a_missing_plugin_file_is_a_problem(tmp_path: Path) -> None:
    rules = write(
        tmp_path / "rules.toml", HEAD + '[plugins]\nmodules = ["local/nope.py"]\n'
    )
    assert problems_of(lambda: load_policy(rules, autoload=False)) == [
        f'{rules}:5:12: error: plugin file "local/nope.py" not found '
        f"(looked for {tmp_path / 'local' / 'nope.py'})"
    ]


def test_two_plugins_registering_the_same_fact_is_a_problem_naming_both() -> None:
    with pytest.raises(PolicyError) as caught:
        loads_policy(
            HEAD + '[plugins]\nmodules = ["tests.plugins.dupe"]\n',
            source="rules.toml",
            plugins=[sample],
            autoload=False,
        )
    (problem,) = caught.value.problems
    assert problem.code == "plugin-invalid"
    assert 'fact "sample.level" is registered by both' in problem.message
    assert '"dupe"' in problem.message
    assert '"tests.plugins.sample"' in problem.message


def test_two_plugins_with_the_same_name_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "a" / "vip.py", VIP_FILE)
    write(tmp_path / "b" / "vip.py", VIP_FILE)
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["a/vip.py", "b/vip.py"]\n',
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert found == [
        'rules.toml:5:24: error: duplicate plugin name "vip": file b/vip.py and '
        "file a/vip.py"
    ]


def test_an_unknown_plugin_in_disable_is_a_problem_with_a_suggestion(
    tmp_path: Path,
) -> None:
    write(tmp_path / "vip.py", VIP_FILE)
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["vip.py"]\ndisable = ["core", "vipp"]\n',
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert found == [
        "rules.toml:6:12: error: the built-in core plugin cannot be disabled",
        'rules.toml:6:20: error: unknown plugin "vipp"; did you mean "vip"?',
    ]


def test_a_misspelt_hook_name_is_a_problem() -> None:
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["tests.plugins.misspelt"]\n',
            source="rules.toml",
            autoload=False,
        )
    )
    assert len(found) == 1
    assert found[0].startswith(
        "rules.toml:1:1: error: invalid plugin: unknown hook "
        "'returnrules_register_fact' in plugin"
    )
    assert "tests.plugins.misspelt" in found[0]


def test_a_register_hook_that_raises_is_a_problem_naming_the_plugin(
    tmp_path: Path,
) -> None:
    write(
        tmp_path / "flaky.py",
        "from returnrules import hookimpl\n\n"
        "@hookimpl\n"
        "def returnrules_register_checks(register):\n"
        "    raise KeyError('config')\n",
    )
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["flaky.py"]\n',
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert found == [
        'rules.toml:1:1: error: plugin "flaky" failed in '
        "returnrules_register_checks: KeyError: 'config'"
    ]


@pytest.mark.parametrize(
    ("registration", "message"),
    [
        (
            'register(Fact("NoDots", FactType("int"), lambda ctx: 1))',
            "invalid fact name 'NoDots'",
        ),
        (
            'register(Fact("odd.fact", FactType.enum("colours"), lambda ctx: 1))',
            'fact "odd.fact" uses unknown vocabulary "colours"',
        ),
        ("register('line.qty')", "register() for facts takes a Fact, got 'line.qty'"),
    ],
)
def test_an_invalid_registration_is_a_problem_naming_the_plugin(
    tmp_path: Path, registration: str, message: str
) -> None:
    write(
        tmp_path / "odd.py",
        "from returnrules import Fact, FactType, hookimpl\n\n"
        "@hookimpl\n"
        "def returnrules_register_facts(register):\n"
        f"    {registration}\n",
    )
    found = problems_of(
        lambda: loads_policy(
            HEAD + '[plugins]\nmodules = ["odd.py"]\n',
            source="rules.toml",
            base_dir=tmp_path,
            autoload=False,
        )
    )
    assert found == [f'rules.toml:1:1: error: plugin "odd": {message}']


# -- the plugin API itself -------------------------------------------------------------


def _hookspecs() -> list[Any]:
    return [
        function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("returnrules_")
    ]


def test_every_hook_specification_is_prefixed_typed_and_documented() -> None:
    specs = _hookspecs()
    assert {spec.__name__ for spec in specs} >= {
        "returnrules_addhooks",
        "returnrules_register_vocabularies",
        "returnrules_register_facts",
        "returnrules_register_checks",
        "returnrules_register_actions",
    }
    for spec in specs:
        assert inspect.getdoc(spec), f"{spec.__name__} has no docstring"
        assert hasattr(spec, "returnrules_spec"), f"{spec.__name__} is not a hookspec"
        annotations = inspect.get_annotations(spec)
        assert "return" in annotations, f"{spec.__name__} has no return type"
        parameters = inspect.signature(spec).parameters
        assert set(parameters) <= set(annotations), f"{spec.__name__} is untyped"


def _imports(path: Path) -> Iterator[str]:
    """Modules a source file imports, statically or by a module-name string."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"(plugins\.)?returnrules_std(\.\w+)*", node.value)
        ):
            yield node.value  # e.g. importlib.import_module("returnrules_std")


def test_the_core_imports_nothing_from_the_standard_plugins() -> None:
    package = Path(returnrules.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 10
    offenders = [
        f"{path.relative_to(package)}: {module}"
        for path in sources
        for module in _imports(path)
        if module.split(".")[0] in ("returnrules_std", "plugins")
    ]
    assert offenders == []


def test_the_import_scanner_sees_both_import_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.py",
        "import returnrules_std.stock\nfrom returnrules_std import x\n"
        "def f():\n    import plugins.returnrules_std\n"
        "    return importlib.import_module('returnrules_std.refund')\n",
    )
    assert sorted(_imports(path)) == [
        "plugins.returnrules_std",
        "returnrules_std",
        "returnrules_std.refund",
        "returnrules_std.stock",
    ]


# -- what a policy may load -------------------------------------------------------


def test_a_policy_cannot_load_an_installed_module_the_host_did_not_allow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RETURNRULES_ALLOW_MODULES")
    text = HEAD + '[plugins]\nmodules = ["tests.plugins.vip"]\n'
    with pytest.raises(PolicyError) as info:
        loads_policy(text, source="rules.toml", autoload=False)
    (problem,) = info.value.problems
    assert (problem.code, problem.line, problem.col) == ("module-not-allowed", 5, 12)
    assert "tests.plugins.vip" not in sys.modules or problem  # nothing imported
    allowed = loads_policy(text, autoload=False, allow_modules=["tests.plugins.vip"])
    assert plugin_names(allowed) == ["core", "vip"]
    monkeypatch.setenv("RETURNRULES_ALLOW_MODULES", "os,tests.plugins.vip")
    assert plugin_names(loads_policy(text, autoload=False)) == ["core", "vip"]


@pytest.mark.parametrize("spec", ["../outside/evil.py", "/tmp/evil.py", "link/evil.py"])
def test_a_policy_cannot_load_a_plugin_file_outside_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    monkeypatch.delenv("RETURNRULES_ALLOW_MODULES")
    outside = write(tmp_path / "outside" / "evil.py", "raise SystemExit('ran')\n")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "link").symlink_to(outside.parent)
    spec = spec.replace("/tmp/evil.py", str(outside))
    rules = write(
        tmp_path / "shop" / "rules.toml",
        HEAD + f'[plugins]\nmodules = ["{spec}"]\n',
    )
    with pytest.raises(PolicyError) as info:
        load_policy(rules, autoload=False)
    (problem,) = info.value.problems
    assert problem.code == "plugin-outside"
    assert "outside the policy's directory" in problem.message


def test_what_a_plugin_prints_on_import_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "chatty.py", "print('hello from chatty')\n")
    rules = write(
        tmp_path / "rules.toml", HEAD + '[plugins]\nmodules = ["chatty.py"]\n'
    )
    load_policy(rules, autoload=False)
    out, err = capsys.readouterr()
    assert (out, err) == ("", "hello from chatty\n")
