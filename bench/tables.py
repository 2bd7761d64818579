"""The peers' figures of a run as the README's Markdown tables.

python bench/tables.py [bench/last-run.json]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def lead(row: dict[str, Any]) -> str:
    """`(1.52x)`: how many times better ours is, from the row's goal text."""
    found = re.search(r"ours ahead \(([\d.]+)x\)", row["goal"])
    return f" ({found.group(1)}x)" if found else ""


def cell(rows: dict[str, dict[str, Any]], what: str, digits: int = 2) -> str:
    row = rows.get(what)
    if row is None:
        return "n/a"
    if row["value"] is None:
        return "fails"
    return f"{row['value']:.{digits}f}{lead(row)}"


def servers(rows: dict[str, dict[str, Any]], prefix: str) -> list[str]:
    """The servers of the rows named `prefix: SERVER`, in their order."""
    return [what.split(": ", 1)[1] for what in rows if what.startswith(prefix + ": ")]


def table(head: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def calls(rows: dict[str, dict[str, Any]]) -> str:
    figures = [
        "peers, SDK call p50",
        "peers, SDK call p99",
        "peers, 100-chunk stream p50",
        "peers, 100-chunk stream p99",
        "peers, first chunk p50",
    ]
    head = ["server", "call p50", "call p99", "stream p50", "stream p99", "first chunk p50"]
    names = servers(rows, figures[0])
    names += [n for n in servers(rows, figures[2]) if n not in names]
    lines = []
    for name in names:
        line = [name, *(cell(rows, f"{f}: {name}") for f in figures)]
        for failed in ("answer", "stream"):
            if f"peers: {name} cannot {failed} here" in rows:
                first, last = (1, 3) if failed == "answer" else (3, 6)
                line[first:last] = ["fails"] * (last - first)
        lines.append(line)
    return table(head, lines)


def lifecycle(rows: dict[str, dict[str, Any]]) -> str:
    start, stop = (
        "peers, start until the first 200",
        "peers, stop with a client's idle connection open",
    )
    memory = "peers, peak memory"
    head = ["server", "start until the first 200 (ms)", "stop (ms)", "peak memory (MiB)"]
    lines = [
        [
            n,
            cell(rows, f"{start}: {n}"),
            cell(rows, f"{stop}: {n}"),
            cell(rows, f"{memory}: {n}", 1),
        ]
        for n in servers(rows, start)
    ]
    return table(head, lines)


def suite(rows: dict[str, dict[str, Any]]) -> str:
    pattern = r"suite of ([\d,]+) tests, (serial|-n 2): (.+?)(: did not pass here)?$"
    found = {what: re.match(pattern, what) for what in rows}
    walls = {(m.group(2), m.group(3)): rows[w]["value"] for w, m in found.items() if m}
    lines = []
    for what, match in found.items():
        if not match:
            continue
        tests, mode, name = int(match.group(1).replace(",", "")), match.group(2), match.group(3)
        wall = rows[what]["value"]
        if wall is None:
            lines.append([name, mode, "fails", rows[what]["goal"], "", ""])
            continue
        floor, ours = walls[mode, "floor (no socket)"], walls[mode, "pytest-llm-mock"]
        lines.append(
            [
                name,
                mode,
                f"{wall:.2f}",
                f"{wall / tests * 1000:.2f}",
                f"{wall / floor:.2f}x" if floor else "",
                f"{wall / ours:.2f}x" if ours else "",
            ]
        )
    head = ["suite", "run", "wall time (s)", "per test (ms)", "/ floor", "/ ours"]
    return table(head, lines)


def load(rows: dict[str, dict[str, Any]]) -> str:
    lines = []
    for what, row in rows.items():
        found = re.match(r"load, (\d+) clients: (.+), throughput$", what)
        if not found:
            continue
        clients, name = found.groups()
        latency = rows.get(f"load, {clients} clients: {name}, p50 / p99")
        errors = rows[f"load, {clients} clients: {name}, errors"]
        p50_p99 = "n/a"
        if latency:
            p99 = re.search(r"p99 ([\d.]+) ms", latency["goal"])
            p50_p99 = f"{latency['value']:.1f} / {p99.group(1) if p99 else '?'}"
        lines.append(
            [
                name,
                clients,
                f"{row['value']:.0f}{lead(row)}",
                p50_p99,
                f"{errors['value']:.0f}",
            ]
        )
    return table(["server", "clients", "answers/s", "p50 / p99 (ms)", "errors"], lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "bench" / "last-run.json"
    data = json.loads(path.read_text())
    rows = {row["what"]: row for row in data["rows"]}
    for part in (calls, lifecycle, suite, load):
        print(part(rows), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
