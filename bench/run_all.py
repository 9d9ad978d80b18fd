"""Run every benchmark and write bench/RESULTS.md with a summary table at the top.

Each ``bench/bench_*.py`` runs in its own subprocess with the interpreter given (default:
this one), one after the other (benchmarks must not share the machine), and updates its own
section of RESULTS.md. Then the sections are collected: RESULTS.md is rewritten as a title
(date, machine, what ran), a summary table -- for every timed row of every section: the
task, fluxfit's min / median, the peer's time and the ratio, and for the parallel runs the
speed-up over serial -- followed by the sections in a fixed order.

A script that fails or is skipped keeps the section of its last run (that section states
its own date); the header lists what ran this time.

Usage::

    /tmp/benchvenv/bin/python bench/run_all.py                     # everything
    python bench/run_all.py --python /tmp/benchvenv/bin/python --skip bayes
    python bench/run_all.py --only parallel --args parallel="--bins 10 100"
    python bench/run_all.py --summary-only                          # re-summarise RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

BENCH = Path(__file__).resolve().parent
ORDER = [
    "bench_models",
    "bench_stats",
    "bench_spectrum_fit",
    "bench_map_fit",
    "bench_estimators",
    "bench_dl3",
    "bench_bayes",
    "bench_parallel",
]
TITLE = "# Benchmark results"


# -------------------------------------------------------------------------- scripts
def discover() -> list[str]:
    """Stems of the bench scripts, in the fixed order, then any new ones alphabetically."""
    found = sorted(p.stem for p in BENCH.glob("bench_*.py"))
    return [s for s in ORDER if s in found] + [s for s in found if s not in ORDER]


def _stem(name: str) -> str:
    name = Path(name).stem
    return name if name.startswith("bench_") else f"bench_{name}"


def run_script(stem, python, extra, log_dir, timeout) -> dict:
    """Run one benchmark; its output goes to ``log_dir/<stem>.log`` (and a tail to stdout)."""
    command = [python, str(BENCH / f"{stem}.py"), *extra]
    log = log_dir / f"{stem}.log"
    print(f"== {stem}: {shlex.join(command)}", flush=True)
    start = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("w") as handle:
        try:
            proc = subprocess.run(
                command,
                cwd=BENCH.parent,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=timeout,
            )
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    elapsed = time.perf_counter() - start
    status = "ok" if code == 0 else f"failed ({code})"
    print(f"   {status} in {elapsed:.0f} s; log {log}", flush=True)
    if code != 0:
        print("   " + "\n   ".join(log.read_text().splitlines()[-15:]), flush=True)
    return {"stem": stem, "status": status, "seconds": elapsed}


# ------------------------------------------------------------------------- sections
def split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first section, [(heading, body)]) of a RESULTS.md."""
    parts = re.split(r"(?m)^(## .*)$", text)
    head, sections = parts[0], []
    for i in range(1, len(parts), 2):
        sections.append((parts[i].strip(), parts[i + 1].strip("\n")))
    return head, sections


def section_script(heading: str) -> str | None:
    match = re.search(r"\(bench/(bench_\w+)\.py\)", heading)
    return match.group(1) if match else None


def section_title(heading: str) -> str:
    return re.sub(r"\s*\(bench/.*?\)\s*$", "", heading[3:]).strip()


def tables(body: str) -> list[tuple[list[str], list[list[str]]]]:
    """Markdown tables of a section: (header cells, rows of cells)."""
    out, lines, i = [], body.splitlines(), 0
    while i < len(lines):
        if (
            lines[i].startswith("|")
            and i + 1 < len(lines)
            and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip())
        ):
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out.append((header, rows))
        else:
            i += 1
    return out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _unit(text: str) -> str:
    match = re.search(r"\((ms|s|us|µs|ns|min)\)\s*$", text)
    return match.group(1) if match else ""


def summary_rows(heading: str, header, rows) -> list[dict]:
    """The timed rows of one table: task, fluxfit time, peer, peer time, ratio, speed-up."""
    lower = [h.lower() for h in header]
    ours = next((i for i, h in enumerate(lower) if "fluxfit" in h and "min" in h), None)
    if ours is None:
        return []
    peer_time = next(
        (i for i, h in enumerate(lower) if "min / median" in h and "fluxfit" not in h), None
    )
    peer_name_col = next((i for i, h in enumerate(lower) if h == "peer"), None)
    ratio = next((i for i, h in enumerate(lower) if h.startswith("ratio")), None)
    speedup = next((i for i, h in enumerate(lower) if "speed-up" in h), None)
    out = []
    for cells in rows:
        if len(cells) != len(header):
            continue
        label_parts = []
        for i in range(ours):
            if i == peer_name_col:
                continue
            cell = cells[i]
            if re.fullmatch(r"[\d.]+", cell):
                cell = f"{header[i]} {cell}"
            label_parts.append(cell)
        task = ", ".join(label_parts)
        unit = _unit(header[ours]) or _unit(cells[0])
        peer = ""
        if peer_name_col is not None:
            peer = cells[peer_name_col]
        elif peer_time is not None:
            peer = re.sub(r"\s*min / median.*$", "", header[peer_time]).strip()
        peer_value = cells[peer_time] if peer_time is not None else "-"
        peer_unit = (_unit(header[peer_time]) or _unit(cells[0])) if peer_time is not None else ""
        out.append(
            {
                "bench": section_title(heading),
                "task": task,
                "fluxfit": f"{cells[ours]} {unit}".strip() if cells[ours] != "-" else "-",
                "peer": peer if peer_value not in ("-", "") else "",
                "peer_time": f"{peer_value} {peer_unit}".strip() if peer_value != "-" else "-",
                "ratio": cells[ratio] if ratio is not None else "-",
                "speedup": cells[speedup] if speedup is not None else "",
            }
        )
    return out


def summary_table(sections) -> list[str]:
    rows = []
    for heading, body in sections:
        for header, table_rows in tables(body):
            rows.extend(summary_rows(heading, header, table_rows))
    lines = [
        "| benchmark | task / data | fluxfit min / median | peer | peer min / median "
        "| ratio (peer / fluxfit) | speed-up vs serial |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['bench']} | {r['task']} | {r['fluxfit']} | {r['peer'] or '-'} "
            f"| {r['peer_time']} | {r['ratio']} | {r['speedup'] or '-'} |"
        )
    return lines


def compose(sections, runs, python, started, preamble=None) -> str:
    """The whole RESULTS.md: title, run facts, summary, then the sections in order.

    ``preamble``: keep this text (an earlier run's title and facts) instead of writing new.
    """
    machine = _common.machine()
    rank = {stem: i for i, stem in enumerate(ORDER)}
    sections = sorted(
        sections, key=lambda s: (rank.get(section_script(s[0]) or "", len(ORDER)), s[0])
    )
    ran = [r for r in runs if r["status"] == "ok"]
    failed = [r for r in runs if r["status"] != "ok"]
    scripts_in_results = {section_script(h) for h, _ in sections}
    kept = sorted(s for s in scripts_in_results - {r["stem"] for r in ran} if s)
    try:
        version = subprocess.run(
            [python, "-c", "import fluxfit; print(fluxfit.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = "?"
    lines = [
        TITLE,
        "",
        f"Written by `bench/run_all.py`, started {started}; `{machine['uname']}`; "
        f"nproc={machine['nproc']}; {machine['cpu']}; Python {machine['python']}, numpy "
        f"{machine['numpy']}; fluxfit {version or '?'}; interpreter `{python}`.",
        "",
    ]
    if runs:
        lines.append(
            "This run: "
            + ", ".join(f"`{r['stem']}` ({r['seconds']:.0f} s)" for r in ran)
            + ("." if ran else "nothing.")
        )
    if failed:
        lines.append(
            "Failed (their sections, if any, are from an earlier run): "
            + ", ".join(f"`{r['stem']}` {r['status']}" for r in failed)
            + "."
        )
    if kept:
        lines.append(
            "Sections kept from earlier runs (dated in the section): "
            + ", ".join(f"`{s}`" for s in kept)
            + "."
        )
    lines += [
        "",
        "Times are wall clock; a busy machine inflates medians (the parallel section records "
        "the CPU other work used during its runs). Ratios are the peer's time over fluxfit's "
        "(min over min); speed-ups are serial time over the row's time on the same work.",
        "",
    ]
    if preamble is not None:
        lines = [preamble.strip(), ""]
    lines += [
        "## Summary",
        "",
        *summary_table(sections),
        "",
    ]
    for heading, body in sections:
        lines += [heading, "", body.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter with fluxfit and the peers"
    )
    parser.add_argument("--skip", nargs="*", default=[], help="scripts to leave out")
    parser.add_argument("--only", nargs="*", default=None, help="scripts to run (default all)")
    parser.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="SCRIPT=ARGS",
        help='extra arguments of one script, e.g. --args parallel="--bins 10 100"',
    )
    parser.add_argument("--timeout", type=float, default=3600, help="s per script")
    parser.add_argument("--log-dir", type=Path, default=None, help="default: a temporary one")
    parser.add_argument(
        "--summary-only", action="store_true", help="run nothing; re-summarise RESULTS.md"
    )
    args = parser.parse_args(argv)

    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    extra = {}
    for item in args.args:
        name, _, value = item.partition("=")
        extra[_stem(name)] = shlex.split(value)
    scripts = discover()
    if args.only:
        wanted = {_stem(s) for s in args.only}
        scripts = [s for s in scripts if s in wanted]
    skip = {_stem(s) for s in args.skip}
    scripts = [s for s in scripts if s not in skip]
    runs = []
    if not args.summary_only:
        log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="fluxfit-bench-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        for stem in scripts:
            runs.append(run_script(stem, args.python, extra.get(stem, []), log_dir, args.timeout))
    text = _common.RESULTS.read_text() if _common.RESULTS.exists() else TITLE + "\n"
    head, sections = split_sections(text)
    sections = [s for s in sections if s[0] != "## Summary"]
    preamble = head if args.summary_only and head.strip() != TITLE else None
    _common.RESULTS.write_text(compose(sections, runs, args.python, started, preamble))
    print(f"wrote {_common.RESULTS}")
    return 0 if all(r["status"] == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
