"""OpenAI's legacy Completions API: `POST /v1/completions` (and without `/v1`), answered by
`.._completions`, which Azure's doors serve too; errors are the OpenAI envelope.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from .._completions import answer
from .._conversion import COMPLETIONS_PATH
from . import Provider, gated, with_and_without_v1

PROVIDER = Provider(
    "OpenAI completions", doors=with_and_without_v1("POST", COMPLETIONS_PATH, gated(answer))
)
