"""Print the fuzz outcome table of ``docs/reliability.md`` from the counts of the last run.

Usage::

    python -m pytest -n 2 tests/fuzz          # writes build/fuzz/fuzz_counts.json
    python tests/fuzz/report.py               # prints the Markdown table
    python tests/fuzz/report.py path/to/fuzz_counts.json

Each row: reader, cases tried, cases read correctly, cases ending in a named fluxfit error
(with the error classes), and escapes (any other exception: only in triage mode, as a
normal run fails on the first one). Round-trip rows count the cases found identical.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def default_path() -> Path:
    env = os.environ.get("FLUXFIT_FUZZ_REPORT")
    return Path(env) if env else REPO / "build" / "fuzz" / "fuzz_counts.json"


def table(payload: dict) -> str:
    readers = payload["readers"]
    fuzz = {name: counts for name, counts in readers.items() if not name.startswith("round trip")}
    trips = {name: counts for name, counts in readers.items() if name.startswith("round trip")}
    lines = [
        "| Reader | Cases | Read | Named error | Error classes | Escapes |",
        "|---|---:|---:|---:|---|---:|",
    ]
    totals = [0, 0, 0, 0]
    for name, counts in fuzz.items():
        read = counts.get("read", 0)
        errors = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("error:")}
        escapes = sum(v for k, v in counts.items() if k.startswith("escape:"))
        named = sum(errors.values())
        cases = read + named + escapes
        classes = ", ".join(f"{k} {v}" for k, v in sorted(errors.items(), key=lambda i: -i[1]))
        lines.append(f"| {name} | {cases} | {read} | {named} | {classes} | {escapes} |")
        for i, value in enumerate((cases, read, named, escapes)):
            totals[i] += value
    lines.append(
        f"| **all readers** | **{totals[0]}** | **{totals[1]}** | **{totals[2]}** | | "
        f"**{totals[3]}** |"
    )
    if trips:
        lines += ["", "| Round trip | Cases | Identical |", "|---|---:|---:|"]
        for name, counts in trips.items():
            identical = counts.get("identical", 0)
            lines.append(f"| {name.removeprefix('round trip: ')} | {identical} | {identical} |")
    header = (
        f"Profile `{payload.get('profile')}` (max_examples {payload.get('max_examples')}, "
        f"deadline {payload.get('deadline_ms')} ms), finished {payload.get('finished')}, "
        f"{payload.get('wall_time_s')} s wall time, pytest exit status {payload.get('exitstatus')}."
    )
    return header + "\n\n" + "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else default_path()
    if not path.is_file():
        print(f"{path}: no counts; run `python -m pytest -n 2 tests/fuzz` first", file=sys.stderr)
        return 1
    print(table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
