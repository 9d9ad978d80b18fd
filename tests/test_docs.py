"""The Python blocks of docs/getting-started.md and docs/api.md run as written.

Each page's ```python blocks run in order in one namespace (like a notebook), in a scratch
folder, with matplotlib's Agg backend. Blocks whose first line is ``# needs the real data``
find it through ``FLUXFIT_DATA`` (set here from ``tests/conftest.py``'s lookup) and are
skipped, with the rest of the page's data blocks, when it is absent.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
NEEDS_DATA = "# needs the real data"
PAGES = ["getting-started.md", "api.md"]


def find_data(request) -> Path | None:
    """The real data folder of tests/conftest.py's ``data_dir`` fixture, or None."""
    try:
        data = request.getfixturevalue("data_dir")
    except pytest.skip.Exception:
        return None
    return data if (data / "gammapy-data").is_dir() else None


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run(page, request, tmp_path, monkeypatch):
    pytest.importorskip("emcee")  # getting-started samples with emcee
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    data = find_data(request)
    have_data = data is not None
    if have_data:
        monkeypatch.setenv("FLUXFIT_DATA", str(data))
    blocks = python_blocks(page)
    assert blocks, page
    namespace: dict = {"__name__": "__docs__"}
    skipped = 0
    for i, block in enumerate(blocks):
        if block.startswith(NEEDS_DATA) and not have_data:
            skipped += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            exec(compile(block, f"docs/{page} block {i + 1}", "exec"), namespace)
    import matplotlib.pyplot as plt

    plt.close("all")
    if skipped:
        pytest.skip(f"{skipped} block(s) of {page} need the real data (set FLUXFIT_DATA)")


def test_getting_started_writes_its_files(request, tmp_path, monkeypatch):
    """The page says it writes these files and states a fitted index: check both."""
    data = find_data(request)
    if data is None:
        pytest.skip("real data not found: set FLUXFIT_DATA or place ../shared/data")
    pytest.importorskip("emcee")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLUXFIT_DATA", str(data))
    namespace: dict = {}
    for i, block in enumerate(python_blocks("getting-started.md")):
        exec(compile(block, f"getting-started block {i + 1}", "exec"), namespace)
    for name in ("crab_points.fits", "crab_sed.png", "crab_results.fits", "crab_corner.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    # the numbers the page states: alpha = 2.16 +- 0.25, total W-stat 79.69 (before sampling)
    assert namespace["result"].total_stat == pytest.approx(79.69, abs=0.01)
    assert namespace["spectral"].alpha.value == pytest.approx(2.16, abs=0.1)


def test_api_page_names_exist():
    """Every class or function the "layers" table of docs/api.md names can be imported."""
    import importlib

    text = (DOCS / "api.md").read_text()
    section = text.split("## The layers and their main classes")[1].split("\n## ")[0]
    checked = 0
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) != 3 or not cells[1].startswith("`fluxfit.") or cells[1] == "`fluxfit.cli`":
            continue
        module = importlib.import_module(cells[1].strip("`"))
        names = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[2])
        if module.__name__ == "fluxfit.results":  # methods of AnalysisResults
            names = [n for n in names if n == "AnalysisResults"] + [
                f"AnalysisResults.{n}" for n in names if n != "AnalysisResults"
            ]
        for name in names:
            obj = module
            for part in name.split("."):
                assert hasattr(obj, part), f"docs/api.md: {module.__name__}.{name} does not exist"
                obj = getattr(obj, part)
            checked += 1
    assert checked > 50


def test_links_resolve():
    """Relative links of README.md and docs/**/*.md point at files that exist; every page of
    docs/ is reachable from the README."""
    repo = DOCS.parent
    pages = [repo / "README.md", *sorted(DOCS.rglob("*.md"))]
    linked = set()
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            path = (page.parent / target).resolve()
            assert path.exists(), f"{page.relative_to(repo)}: broken link {target}"
            linked.add(path)
    readme_links = {
        (repo / t).resolve()
        for t in re.findall(r"\]\(([^)#\s]+)\)", (repo / "README.md").read_text())
    }
    unlinked = [p.name for p in sorted(DOCS.rglob("*.md")) if p.resolve() not in readme_links]
    assert not unlinked, f"pages not linked from README.md: {unlinked}"
