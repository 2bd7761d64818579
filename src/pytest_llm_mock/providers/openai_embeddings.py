"""OpenAI's Embeddings API: `POST /v1/embeddings` (and without `/v1`), answered by
`.._embeddings`, which Azure's doors serve too; errors are the OpenAI envelope.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from .._embeddings import EMBEDDINGS_PATH, answer
from . import Provider, gated, with_and_without_v1

PROVIDER = Provider(
    "OpenAI embeddings", doors=with_and_without_v1("POST", EMBEDDINGS_PATH, gated(answer))
)
