"""`pytest-llm-mock init`: a starter collection.json to edit, never written over a user's file."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from .conftest import DEFAULT_COLLECTION
from .served import run_cli, serving


def test_init_writes_the_default_items_and_check_accepts_them(tmp_path: Path) -> None:
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "collection.json"
    assert written.read_bytes() == DEFAULT_COLLECTION.read_bytes()
    assert result.stdout.startswith("wrote collection.json (15 examples): import it into Postman")
    checked = run_cli("check", "collection.json", cwd=tmp_path)
    assert (checked.returncode, checked.stdout) == (
        0,
        "collection.json: 15 examples, no findings (match: conversation)\n",
    )


def test_init_into_a_folder_writes_collection_json_there(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    assert run_cli("init", "project", cwd=tmp_path).returncode == 0
    assert (tmp_path / "project" / "collection.json").is_file()


def test_init_refuses_to_overwrite_with_one_line_and_exit_2(tmp_path: Path) -> None:
    mine = tmp_path / "collection.json"
    mine.write_text("my own work", encoding="utf-8")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "pytest-llm-mock: error: collection.json exists; it was left as it is\n"
    )
    assert mine.read_text(encoding="utf-8") == "my own work"


def test_serve_without_a_collection_says_where_it_looked(tmp_path: Path) -> None:
    with serving(cwd=tmp_path) as served:
        client = openai.OpenAI(base_url=served.base_url, api_key="k", max_retries=0)
        with client, pytest.raises(openai.NotFoundError) as raised:
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "not in the default"}]
            )
    message = str(raised.value)
    assert "No example in the embedded default collection matches" in message
    assert f"no collection.json was found in {tmp_path} (the current folder)" in message
    assert "pytest-llm-mock init" in message
