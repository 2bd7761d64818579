"""What pytest shows of the mock: the requests of a failing test, and a summary at the end of
the session (requests served, requests not answered, examples no test reached).

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pytest

from ._collection import CHAT_PATH, Collection
from ._journal import Journal, RecordedRequest

if TYPE_CHECKING:
    from ._scopes import Late

SECTION = "llm-mock"
LATE_SHOWN = 20  # late requests listed in the summary; all are counted
NO_TEST = "(no test was running)"  # the late log's name for what the session's server got
_SHOWN: pytest.StashKey[list[str]] = pytest.StashKey()  # the request lines a report shows


def show(
    item: pytest.Item,
    when: Literal["call", "teardown"],
    requests: list[RecordedRequest],
    failures: str | None = None,
) -> None:
    """Put a failing test's requests (then `failures`, if given) in its report: as the
    section `Captured llm-mock <when>`, which the terminal and pytest-html show, and as the
    user property `llm-mock <when>`, which JUnit XML writes with default settings (its
    `system-out` carries report sections only when `junit_logging` asks for them)."""
    lines = [f"Requests this test made ({len(requests)}):"] if requests else ["No requests."]
    lines += [f"  {i}. {r.describe()}" for i, r in enumerate(requests, start=1)]
    if when == "teardown" and item.stash.get(_SHOWN, None) == lines:
        return  # the teardown report repeats the call's section, which says it all
    item.stash[_SHOWN] = lines
    text = "\n".join([*lines, "", failures] if failures else lines)
    item.add_report_section(when, SECTION, text)
    item.user_properties.append((f"{SECTION} {when}", text))


@dataclass
class Stats:
    """Counts over a session; merged across xdist workers as plain JSON."""

    requests: int = 0
    unmatched: int = 0
    dropped: int = 0  # requests the journal limit left out
    examples: dict[str, list[str]] = field(default_factory=dict)  # collection -> all names
    reached: dict[str, set[str]] = field(default_factory=dict)  # collection -> answered
    late: int = 0  # requests that arrived after their test ended
    late_misses: int = 0  # of those, the ones nothing answered: the run fails
    late_lines: list[str] = field(default_factory=list)  # the first of them, described

    def add(self, collection: Collection, journal: Journal) -> None:
        """A test's requests, its misses counted apart from what the journal limit dropped."""
        requests = journal.snapshot()
        self.dropped += journal.dropped
        self.requests += len(requests) + journal.dropped
        self.unmatched += journal.miss_count
        name = collection.describe()
        if name not in self.examples:
            # Only chat examples answer requests; a saved GET /models sample never does.
            answering = [e.full_name for e in collection.examples if e.path == CHAT_PATH]
            if not answering:
                return
            self.examples[name] = answering
        reached = self.reached.setdefault(name, set())
        reached.update(r.answered_by.full_name for r in requests if r.answered_by is not None)

    def add_late(self, drained: tuple[int, int, list[Late]]) -> None:
        count, misses, described = drained
        self.late += count
        self.late_misses += misses
        for late in described:
            if len(self.late_lines) < LATE_SHOWN:
                self.late_lines.append(f"{late.test}: {late.request.describe()}")

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "unmatched": self.unmatched,
            "dropped": self.dropped,
            "examples": self.examples,
            "reached": {k: sorted(v) for k, v in self.reached.items()},
            "late": self.late,
            "late_misses": self.late_misses,
            "late_lines": self.late_lines,
        }

    def merge(self, data: dict[str, Any]) -> None:
        self.requests += int(data["requests"])
        self.unmatched += int(data["unmatched"])
        self.dropped += int(data.get("dropped", 0))
        self.late += int(data.get("late", 0))
        self.late_misses += int(data.get("late_misses", 0))
        room = LATE_SHOWN - len(self.late_lines)
        self.late_lines += [str(line) for line in data.get("late_lines", [])][: max(room, 0)]
        for name, examples in data["examples"].items():
            self.examples.setdefault(name, examples)
        for name, reached in data["reached"].items():
            self.reached.setdefault(name, set()).update(reached)

    def unreached(self) -> dict[str, list[str]]:
        return {
            name: [e for e in examples if e not in self.reached.get(name, set())]
            for name, examples in self.examples.items()
        }

    def lines(self, *, verbose: bool) -> list[str]:
        unreached = self.unreached()
        dead = sum(len(v) for v in unreached.values())
        total = sum(len(v) for v in self.examples.values())
        plural = "s" if len(self.examples) != 1 else ""
        lines = [
            f"{self.requests} requests served, {self.unmatched} not answered; "
            f"{dead} of {total} examples in {len(self.examples)} collection{plural} "
            f"not reached by any test" + ("" if verbose or not dead else " (-v lists them)")
        ]
        if self.dropped:
            lines.append(
                f"the journal limit was reached: {self.dropped} requests were not kept "
                "(raise it with the ini key llm_journal_limit, or llm_journal_max_size for bytes)"
            )
        if self.late:
            lines.append(
                f"{self.late} request(s) arrived after their test had ended, or while no test "
                "was running: answered from that test's collection (else the run's), counted in "
                "no test's journal or verdict:"
            )
            lines += [f"  {line}" for line in self.late_lines]
            if self.late > len(self.late_lines):
                lines.append(f"  ({self.late - len(self.late_lines)} more not listed)")
        if self.late_misses:
            lines.append(
                f"{self.late_misses} of them were not answered, so the run fails. If a client "
                "was built once and kept (a module-level client, settings read once from "
                "OPENAI_BASE_URL), it still sends to the first test's base_url: build it in each "
                "test from llm_mock_server.base_url, or give it the server's root URL without "
                "/_t/N (requests without a prefix belong to the running test). A request sent "
                f"while no test was running {NO_TEST} came from a fixture's set-up or teardown, "
                "or a thread: send it from a test that requests llm_mock_server."
            )
        if verbose:
            for name, examples in unreached.items():
                lines += [f"  {name}: {example}" for example in examples]
        return lines
