"""The layer rules of docs/architecture.md, checked on the source.

Every ``import`` of a fluxfit module (at module level or inside functions) must go to a
layer the importing layer may use. Plotting may be imported lazily (inside functions) from
any layer: plots are methods of result objects, the plotting code stays at the edge.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fluxfit"

BASE = {"errors", "utils", "_jit", "_files", "__init__"}
ALLOWED = {
    "maps": BASE,
    "stats": BASE,
    "irf": BASE | {"maps"},
    "models": BASE | {"maps"},
    "data": BASE | {"maps", "irf"},
    "datasets": BASE | {"maps", "irf", "models", "stats", "data"},
    "makers": BASE | {"maps", "irf", "models", "stats", "data", "datasets"},
    "fit": BASE | {"maps", "models", "stats", "datasets", "parallel", "results"},
    "results": BASE | {"maps", "models", "stats", "datasets"},
    "estimators": BASE | {"maps", "irf", "models", "stats", "data", "datasets", "fit", "parallel"},
    "parallel": BASE,
    "plotting": BASE | {"maps", "models", "stats", "datasets", "fit", "results", "estimators"},
    "cli": None,  # the edge: anything
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imported_layers(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "fluxfit" and len(parts) > 1:
                yield parts[1], node.lineno


FILES = sorted(p for p in SRC.rglob("*.py") if layer_of(p) in ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_layers(path):
    layer = layer_of(path)
    allowed = ALLOWED[layer]
    if allowed is None:
        return
    bad = [
        f"line {line}: fluxfit.{target}"
        for target, line in imported_layers(path)
        if target != layer and target not in allowed and target != "plotting"
    ]
    assert not bad, f"{path.relative_to(SRC)} ({layer}) imports upward: {bad}"


def test_every_subpackage_is_known():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("__")}
    modules = {p.stem for p in SRC.glob("*.py")} - {"__init__"}
    assert packages | modules <= set(ALLOWED) | BASE | {"plotting"}
