"""Each layer imports only the public names of the layers it may use (docs/ARCHITECTURE.md).

Read from the source, not by importing it: every ``import`` and ``from ... import`` in every module
under ``src/scsctl`` (inside functions and ``TYPE_CHECKING`` blocks too) is checked against the
table below. A package's public names are its ``__all__`` (a module without one: the names not
starting with ``_``); a submodule of another layer's package is never imported, except within one
layer and for the few transports internals listed in ``INTERNALS_ALLOWED``.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "scsctl"

SHARED = frozenset({"errors", "units", "parsing", "text"})
"""Vocabulary every layer may use: the exception tree, formatting of quantities, reading them, and
checking and escaping names and printed text."""

FRONT_ENDS = frozenset({"cli", "tui", "pytest_plugin", "bench", "labgrid_driver", "diagnostics", "__main__"})

MAY_USE: dict[str, frozenset[str]] = {
    # package (or top-level module) -> the other scsctl packages it may import, besides SHARED
    "_root": frozenset({"controller"}),  # scsctl.connect and friends
    "transports": frozenset({"emulator", "profiles"}),  # emu:// runs the emulator; ports match profile USB ids
    "link": frozenset({"transports"}),
    "profiles": frozenset({"guard"}),  # one layer with the guard (see SAME_LAYER)
    "guard": frozenset({"profiles"}),
    "audit": frozenset(),
    "emulator": frozenset(),  # the firmware's stand-in shares only firmware_protocol with the host
    "trust": frozenset({"guard", "profiles"}),  # the site policy: which role, which profiles
    "controller": frozenset({"link", "transports", "guard", "profiles", "audit", "emulator", "trust"}),
    "trial": frozenset({"controller", "audit", "profiles", "_root"}),
    **{
        front_end: frozenset({"controller", "trial", "emulator", "profiles", "audit", "_root"}) | FRONT_ENDS
        for front_end in FRONT_ENDS
    },
}
"""``_root``: ``scsctl`` itself (``__version__``). ``controller -> emulator``: the emulator's models,
offered as ``emu://MODEL`` targets."""

SAME_LAYER = frozenset(
    {frozenset({"profiles", "guard"})} | {frozenset({a, b}) for a in FRONT_ENDS for b in FRONT_ENDS if a != b}
)
"""Packages of one layer may use each other's modules, not only their public names (the front ends
are one layer: the CLI starts the TUI, the benchmark and the HIL report)."""

NEVER_FROM_FRONT_ENDS = ("link", "transports", "guard")

INTERNALS_ALLOWED: frozenset[tuple[str, str]] = frozenset()
"""None: every layer reaches the one below through its package's public names."""


@dataclass(frozen=True, slots=True)
class Import:
    module: str
    """The importing module, e.g. ``scsctl.tui.app``."""
    target: str
    """The module imported from, absolute, e.g. ``scsctl.controller``."""
    names: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {', '.join(self.names) or '(the module)'} from {self.target}"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = ["scsctl", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(module: str, path: Path) -> list[Import]:
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "scsctl" or target.startswith("scsctl."):
                names = []
                for alias in node.names:  # "from pkg import mod" imports a module, not a name
                    if _is_module(f"{target}.{alias.name}"):
                        found.append(Import(module, f"{target}.{alias.name}", (), node.lineno))
                    else:
                        names.append(alias.name)
                if names:
                    found.append(Import(module, target, tuple(names), node.lineno))
        elif isinstance(node, ast.Import):
            found += [Import(module, a.name, (), node.lineno) for a in node.names if a.name.startswith("scsctl.")]
    return found


def _is_module(name: str) -> bool:
    if not name.startswith("scsctl."):
        return False
    path = SRC.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "_root"


def _public(package: str) -> set[str]:
    mod = importlib.import_module(package)
    names = getattr(mod, "__all__", None)
    return set(names) if names is not None else {n for n in vars(mod) if not n.startswith("_")}


def _problems() -> list[str]:
    problems = []
    for module, path in _modules():
        mine = _layer(module)
        for imp in _imports(module, path):
            theirs = _layer(imp.target)
            if theirs == mine or theirs in SHARED:
                continue
            if mine in FRONT_ENDS and theirs in NEVER_FROM_FRONT_ENDS:
                problems.append(f"{imp}: a front end uses the controller, never {theirs}")
                continue
            if theirs not in MAY_USE.get(mine, frozenset()):
                problems.append(f"{imp}: {mine} may not use {theirs}")
                continue
            if frozenset({mine, theirs}) in SAME_LAYER or (mine, imp.target) in INTERNALS_ALLOWED:
                continue
            top = "scsctl" if theirs == "_root" else f"scsctl.{theirs}"
            if imp.target != top:
                problems.append(f"{imp}: import it from {top}, not from its module {imp.target}")
                continue
            hidden = sorted(set(imp.names) - _public(top))
            if hidden:
                problems.append(f"{imp}: {', '.join(hidden)} not in {top}.__all__")
    return problems


def test_each_layer_imports_only_the_public_names_of_the_layers_below() -> None:
    problems = _problems()
    assert not problems, "\n".join(problems)


def test_every_package_is_in_the_table() -> None:
    packages = {_layer(module) for module, _ in _modules()} - {"_root", "__main__"}
    assert packages <= set(MAY_USE) | SHARED, sorted(packages - set(MAY_USE) - SHARED)


@pytest.mark.parametrize("package", ["scsctl.controller", "scsctl.guard", "scsctl.emulator", "scsctl.trial"])
def test_every_name_in_all_exists(package: str) -> None:
    mod = importlib.import_module(package)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, missing


def test_the_rule_catches_a_front_end_reaching_around_the_controller(tmp_path: Path) -> None:
    source = "from ..link.session import LinkStatus\nfrom ..guard.checks import shannon_sum\n"
    path = tmp_path / "x.py"
    path.write_text(source)
    found = _imports("scsctl.tui.x", path)
    assert [(i.target, i.names) for i in found] == [
        ("scsctl.link.session", ("LinkStatus",)),
        ("scsctl.guard.checks", ("shannon_sum",)),
    ]
    assert all(_layer(i.target) in NEVER_FROM_FRONT_ENDS for i in found)


ARITHMETIC_HOMES = frozenset({"guard", "emulator", "profiles"})
"""Where charge, density and Shannon may be computed: the guard (the host's one home for them), the
emulator (the device's own, independent limits by design) and the profiles (declared levels, and
their descriptions)."""


def _computes_safety_arithmetic(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in {"log10", "log"}:
                found.append(f"line {node.lineno}: calls {name}")
        elif (
            isinstance(node, ast.FunctionDef)
            and not node.name.startswith("format_")  # units writes a density; it works nothing out
            and any(word in node.name for word in ("shannon", "charge_density", "charge_per_phase"))
        ):
            found.append(f"line {node.lineno}: defines {node.name}")
    return found


def test_no_module_above_the_guard_computes_charge_density_or_shannon() -> None:
    problems = [
        f"{module} {problem}"
        for module, path in _modules()
        if _layer(module) not in ARITHMETIC_HOMES
        for problem in _computes_safety_arithmetic(path)
    ]
    assert not problems, "\n".join(problems)
