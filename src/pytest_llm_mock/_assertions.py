"""Assertions over the journal: calls made, and retries that honoured Retry-After.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._collection import canonical_path
from ._journal import RecordedRequest
from ._request import normalize_text

CRITERIA = ("model", "last_user_message", "contains", "example", "path", "stream")


class RequestAssertions:
    """`assert_*` helpers for anything that has `requests` (the journal, oldest first)."""

    @property
    def requests(self) -> list[RecordedRequest]:
        raise NotImplementedError

    def assert_called(self, **criteria: Any) -> None:
        """At least one request met every criterion."""
        if not self._matching(criteria):
            raise AssertionError(self._call_report("at least one request", criteria))

    def assert_called_once(self, **criteria: Any) -> None:
        self.assert_call_count(1, **criteria)

    def assert_not_called(self, **criteria: Any) -> None:
        self.assert_call_count(0, **criteria)

    def assert_call_count(self, count: int, **criteria: Any) -> None:
        found = self._matching(criteria)
        if len(found) != count:
            wanted = f"{count} request{'s' if count != 1 else ''}"
            raise AssertionError(self._call_report(wanted, criteria, len(found)))

    def _matching(self, criteria: Mapping[str, Any]) -> list[RecordedRequest]:
        unknown = sorted(set(criteria) - set(CRITERIA))
        if unknown:
            raise TypeError(
                f"unknown criteria {unknown}; valid criteria are: {', '.join(CRITERIA)}"
            )
        return [r for r in self.requests if _meets(r, criteria)]

    def _call_report(self, wanted: str, criteria: Mapping[str, Any], got: int = 0) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in criteria.items()) or "any"
        lines = [f"expected {wanted} matching {shown}; found {got}.", *self._request_lines()]
        return "\n".join(lines)

    def _request_lines(self) -> list[str]:
        requests = self.requests
        if not requests:
            return ["The server received no requests."]
        lines = [f"Requests received ({len(requests)}):"]
        lines += [f"  {i}. {r.describe()}" for i, r in enumerate(requests, start=1)]
        return lines

    def assert_retries_honoured(self) -> None:
        """Every retry waited at least as long as the answer before it asked
        (`retry-after-ms` / `retry-after`)."""
        problems = retry_problems(self.requests)
        if problems:
            raise AssertionError("retries did not honour Retry-After:\n  " + "\n  ".join(problems))


def retry_problems(requests: list[RecordedRequest]) -> list[str]:
    """Retries that came sooner than the answer to their previous attempt asked.

    A retry is a request with `x-stainless-retry-count` n >= 1; its previous attempt is the
    latest earlier request with the same body and count n - 1.
    """
    problems = []
    for position, retry in enumerate(requests):
        if not retry.retry_count:
            continue
        previous = next(
            (
                r
                for r in reversed(requests[:position])
                if r.retry_count == retry.retry_count - 1 and r.json == retry.json
            ),
            None,
        )
        if previous is None or previous.retry_after is None:
            continue
        waited = retry.received_at - previous.received_at
        if waited + 0.001 < previous.retry_after:  # a millisecond of clock rounding
            problems.append(
                f"retry {retry.retry_count} came {waited * 1000:.1f} ms after a "
                f"{previous.status} that asked for {previous.retry_after * 1000:.1f} ms"
            )
    return problems


def _meets(request: RecordedRequest, criteria: Mapping[str, Any]) -> bool:
    for name, wanted in criteria.items():
        if name == "model" and request.model != wanted:
            return False
        if name == "last_user_message" and request.last_user_message != normalize_text(wanted):
            return False
        if name == "contains" and normalize_text(wanted) not in request.text():
            return False
        if name == "example" and not (
            request.example == wanted
            or (request.answered_by is not None and request.answered_by.is_named(wanted))
        ):
            return False
        if name == "path" and canonical_path(request.path) != canonical_path(wanted):
            return False
        if name == "stream" and request.stream != wanted:
            return False
    return True
