"""`python -m pytest_llm_mock`: the same as the `pytest-llm-mock` command."""

from .cli import main

raise SystemExit(main())
