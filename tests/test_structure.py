"""The package's shape, checked: every flag a message names exists, each setting is declared once, and
the import graph has no cycles and no imports against the pipeline's direction."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import click
import pytest

from huggingtweets.cli.main import cli
from huggingtweets.training.recipes import _GROUP_TYPES

PACKAGE = Path(__file__).resolve().parent.parent / "huggingtweets"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")
OTHER_TOOLS = re.compile(r"pip install|torchrun|accelerate launch")
"""Strings that quote another program's command line, whose flags are that program's."""


def _options(command: click.Command) -> set[str]:
    found = {o for p in command.params for o in p.opts + p.secondary_opts if o.startswith("--")}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found |= _options(sub)
    return found


def _strings(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):  # an f-string's literal parts
            yield node.lineno, "".join(v.value for v in node.values
                                       if isinstance(v, ast.Constant) and isinstance(v.value, str))


def test_every_flag_named_in_the_package_exists():
    known = _options(cli) | {"--help", "--version"}
    unknown = [f"{path.relative_to(PACKAGE.parent)}:{line}: {flag}"
               for path in sorted(PACKAGE.rglob("*.py")) for line, text in _strings(path)
               if not OTHER_TOOLS.search(text) for flag in FLAG.findall(text) if flag not in known]
    assert not unknown, "messages name flags that no command has:\n" + "\n".join(unknown)


def test_the_check_would_catch_a_flag_that_does_not_exist(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('raise UsageError(f"{x} is too small: pass --warmup-steps")\n')
    assert {f for _, t in _strings(bad) for f in FLAG.findall(t)} == {"--warmup-steps"}


def test_every_setting_with_a_flag_is_an_option_of_train_and_run():
    flags = {f.metadata["flag"] for kind in _GROUP_TYPES.values()
             for f in kind.__dataclass_fields__.values() if "flag" in f.metadata}
    for name in ("train", "run"):
        missing = flags - _options(cli.commands[name])
        assert not missing, f"`{name}` lacks {missing}"


@pytest.mark.parametrize("command", ["generate", "run"])
def test_sampling_options_are_bot_generate_parameters_with_its_defaults(command):
    from huggingtweets.generate import Bot

    signature = inspect.signature(Bot.generate).parameters
    params = {p.name: p for p in cli.commands[command].params}
    for name in ("temperature", "top_p", "max_new_tokens", "copies"):
        assert name in signature, name
        assert params[name].default == signature[name].default, name


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at any depth in the file: lazy imports count)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    hit = sub if sub in modules else target
                    if hit in modules and hit != name:
                        graph[name].add(hit)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules and a.name != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The pipeline's direction: sources -> dataset -> training -> generate/evaluation/card -> hub/tracking ->
# pipeline -> cli and app. A layer never imports one after it.
FORBIDDEN = {
    "huggingtweets.sources": ("huggingtweets.dataset", "huggingtweets.training", "huggingtweets.card",
                              "huggingtweets.app", "huggingtweets.cli", "huggingtweets.pipeline"),
    "huggingtweets.dataset": ("huggingtweets.training", "huggingtweets.card", "huggingtweets.app",
                              "huggingtweets.cli", "huggingtweets.pipeline"),
    "huggingtweets.training": ("huggingtweets.card", "huggingtweets.app", "huggingtweets.cli",
                               "huggingtweets.pipeline", "huggingtweets.generate", "huggingtweets.hub"),
    "huggingtweets.card": ("huggingtweets.app", "huggingtweets.cli", "huggingtweets.pipeline"),
    "huggingtweets.app": ("huggingtweets.cli",),
    "huggingtweets.generate": ("huggingtweets.app", "huggingtweets.cli", "huggingtweets.pipeline"),
}


def test_no_layer_imports_a_later_one():
    wrong = [f"{m} imports {t}" for m, targets in import_graph().items() for t in targets
             for layer, banned in FORBIDDEN.items()
             if (m == layer or m.startswith(layer + ".")) and any(t == b or t.startswith(b + ".") for b in banned)]
    assert not wrong, "\n".join(wrong)


def test_generate_uses_no_private_name_of_training():
    source = (PACKAGE / "generate.py").read_text(encoding="utf-8")
    private = [f"{node.module}.{a.name}" for node in ast.walk(ast.parse(source))
               if isinstance(node, ast.ImportFrom) and "training" in (node.module or "")
               for a in node.names if a.name.startswith("_")]
    assert not private
