"""OpenAI's Responses API: `POST /v1/responses` (and without `/v1`), answered by
`.._responses_api`, which Azure's doors serve too; errors are the OpenAI envelope.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from .._conversion import RESPONSES_PATH
from .._responses_api import answer
from . import Provider, gated, with_and_without_v1

PROVIDER = Provider(
    "OpenAI Responses", doors=with_and_without_v1("POST", RESPONSES_PATH, gated(answer))
)
