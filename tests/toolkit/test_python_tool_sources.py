"""Python tools from ``py:`` sources: the module-level marker, factories, attributes, loading problems, the CLI."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from tests.toolkit.test_python_tools import call
from toolkit.cli import main
from toolkit.errors import UserError
from toolkit.python_tools import ToolOptions, load_python_toolset, marked_options, tool
from toolkit.sources import parse_source
from toolkit.specs import ToolResult
from toolkit.toolsets import ToolRegistry

PKG = "tests.toolkit"  # the pytools_* helper modules live next to this file


def test_the_module_level_marker_only_marks_and_returns_the_function_unchanged():
    from tests.toolkit import pytools_marked

    assert pytools_marked.loud("hey") == "HEY" and pytools_marked.loud.__name__ == "loud"
    assert marked_options(pytools_marked.loud) == ToolOptions(name="shout", deterministic=False)
    assert marked_options(pytools_marked.greet) == ToolOptions()
    assert marked_options(pytools_marked.helper) is None

    class Box:
        def get(self) -> int:
            return 1

    with pytest.raises(UserError, match="decorate the function or method where it is defined"):
        tool(Box().get)


def test_a_module_of_marked_functions_loads_as_a_toolset_named_after_it():
    ts = load_python_toolset("tests.toolkit.pytools_marked")
    assert ts.name == "tests.toolkit.pytools_marked"
    assert ts.names() == ["greet", "shout"]  # the unmarked helper is not a tool
    assert not ts.specs()[1].deterministic
    assert call(ts, "greet", {"name": "Ada"}).content == "Hello, Ada!"


def test_a_create_toolset_factory_wins_and_gives_fresh_state_on_every_load():
    first = load_python_toolset("tests.toolkit.pytools_factory")
    second = load_python_toolset("tests.toolkit.pytools_factory")
    assert first is not second and first.name == "counter"
    assert call(first, "increment", {"by": 2}).structured == {"result": 2}
    assert call(first, "increment", {}).structured == {"result": 3}
    assert call(second, "increment", {}).structured == {"result": 1}


def test_a_toolset_attribute_is_used_when_there_is_no_factory_and_is_shared_between_loads():
    ts = load_python_toolset("tests.toolkit.pytools_shared")
    assert ts.name == "shared-only" and ts is load_python_toolset("tests.toolkit.pytools_shared")


def test_an_explicit_attribute_names_a_toolset_a_factory_or_a_single_marked_function():
    assert load_python_toolset(f"{PKG}.pytools_factory:extra").names() == ["echo"]
    assert load_python_toolset(f"{PKG}.pytools_factory:toolset").names() == ["ping"]
    assert load_python_toolset(f"{PKG}.pytools_factory:create_toolset").names() == ["increment"]
    assert load_python_toolset("tests.toolkit.pytools_marked:loud").names() == ["shout"]


def test_a_module_in_the_working_directory_is_found_even_when_it_is_not_on_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "pytools_in_cwd.py").write_text(
        "from toolkit.python_tools import tool\n\n@tool\ndef here() -> str:\n    return 'found'\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)  # like running the `toolgym` console script, which does not add the cwd itself
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", os.fspath(tmp_path))])
    monkeypatch.delitem(sys.modules, "pytools_in_cwd", raising=False)
    try:
        assert call(load_python_toolset("pytools_in_cwd"), "here", {}).content == "found"
    finally:
        sys.modules.pop("pytools_in_cwd", None)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (f"{PKG}.pytools_nope", f"cannot import '{PKG}.pytools_nope': no module named '{PKG}.pytools_nope'"),
        (f"{PKG}.pytools_broken", f"importing '{PKG}.pytools_broken' raised RuntimeError: database URL not configured"),
        (f"{PKG}.pytools_empty", f"module '{PKG}.pytools_empty' offers no tools: define `create_toolset()`"),
        (f"{PKG}.pytools_factory:missing", "has no attribute 'missing'; available: create_toolset, toolset, extra"),
        (f"{PKG}.pytools_factory:needs_args", "neither a PythonToolset nor a zero-argument factory"),
        (f"{PKG}.pytools_factory:not_a_toolset", "returned int, not a PythonToolset"),
        (f"{PKG}.pytools_factory:Counter.increment", "neither a PythonToolset nor a zero-argument factory"),
        (f"{PKG}.pytools_factory:failing_factory", "failing_factory raised KeyError: 'API_TOKEN'; fix the factory"),
        (f"{PKG}.pytools_factory:factory_with_bad_tool", "tool 'untyped' cannot be registered (1 problem(s))"),
        (f"{PKG}.pytools_needs_dep", "No module named 'toolgym_absent_dependency'; install the missing package"),
    ],
)
def test_loading_problems_are_user_errors_that_say_what_to_fix(target, message):
    with pytest.raises(UserError) as info:
        load_python_toolset(target)
    assert message in str(info.value)


def test_a_py_source_string_opens_in_a_registry_next_to_other_toolsets():
    async def go() -> tuple[list[str], ToolResult]:
        with anyio.fail_after(10):
            sources = [parse_source(f"py:{PKG}.pytools_marked").make(), load_python_toolset(f"{PKG}.pytools_shared")]
            async with ToolRegistry(sources) as registry:
                return registry.names(), await registry.call("shout", {"text": "hi"})

    names, result = anyio.run(go)
    assert names == ["greet", "shout", "now_ms"]
    assert result.content == "HI"


def test_the_tools_command_lists_python_tools_as_a_table_and_as_json(capsys: pytest.CaptureFixture[str]):
    assert main(["tools", "py:tests.toolkit.pytools_marked"]) == 0
    out = capsys.readouterr().out
    assert "greet" in out and "name" in out and "Greet someone by name." in out and "2 tool(s)" in out
    assert main(["tools", "py:tests.toolkit.pytools_marked", "--json"]) == 0
    specs = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in specs] == ["greet", "shout"]
    assert specs[0]["input_schema"]["properties"]["name"] == {"type": "string", "description": "Who to greet."}
    assert main(["tools", "py:tests.toolkit.pytools_empty"]) == 2
    assert "offers no tools" in capsys.readouterr().err
