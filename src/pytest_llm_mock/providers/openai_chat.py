"""OpenAI's Chat Completions API: `POST /v1/chat/completions` (and without `/v1`). Its
requests are read and answered by the shared chat flow (`.._chat.answer`), which Azure's
doors serve too; its errors are the OpenAI envelope every shared reply already has.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

from .._chat import answer
from .._collection import CHAT_PATH
from . import Provider, gated, with_and_without_v1

PROVIDER = Provider("OpenAI chat", doors=with_and_without_v1("POST", CHAT_PATH, gated(answer)))
