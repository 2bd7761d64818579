"""`python -m pytest_llm_mock`: the same as the `pytest-llm-mock` command.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from .cli import run

run()
