"""Print what the README tells a newcomer to run, so that CI runs exactly that.

python3 .ci/readme.py setup        the set-up commands, one per line
python3 .ci/readme.py quickstart   the Quickstart's Python block (without its name line)
python3 .ci/readme.py install      the install commands for a user's own project
"""

from __future__ import annotations

import sys
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def setup() -> list[str]:
    block = section("Set-up").split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def install() -> list[str]:
    """The `pip install` lines of the Set-up section's block for a user's own project."""
    text = section("Set-up").split("In your own project", 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("pip install")]


def quickstart() -> str:
    block = section("Quickstart").split("```python\n", 1)[1].split("```", 1)[0]
    return block.partition("\n")[2] if block.startswith("# examples/") else block


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) == 2 else ""
    if what == "setup":
        print("\n".join(setup()))
    elif what == "install":
        print("\n".join(install()))
    elif what == "quickstart":
        print(quickstart(), end="")
    else:
        sys.exit(__doc__)
