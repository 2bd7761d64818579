"""The seed guide's AutoGen script, as a user runs it: `pytest-llm-mock serve` in one process,
`python seed_guide.py` in another. It ends cleanly, every turn answered by the embedded default
collection; its failover variant fails over on every turn when serve fails the first model."""

import os
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("seed_guide.py")
TURNS = [
    "AutoGen seed guide/Turn 1: the task/Script",
    "AutoGen seed guide/Turn 2: the script's output/Summary",
    "AutoGen seed guide/Turn 3: the empty auto-reply/Terminate",
]


def run_against_serve(tmp_path, serve_args, script_args):
    """Run the script against `serve --port 0` (started in an empty folder, so the embedded
    default collection answers); return the script's run and serve's exit code and lines."""
    serve = subprocess.Popen(
        [sys.executable, "-m", "pytest_llm_mock", "serve", "--port", "0", *serve_args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        lines = [serve.stdout.readline(), serve.stdout.readline()]
        base_url = lines[1].split("base_url:", 1)[1].strip()
        env = {**os.environ, "LLM_MOCK_BASE_URL": base_url}
        run = subprocess.run(
            [sys.executable, str(SCRIPT), *script_args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=10)
    return run, serve.returncode, [line for line in out.splitlines() if line.startswith("POST ")]


def answered(line):
    """`POST /v1/chat/completions 200 NAME 0.4ms (MODEL)` -> (status, NAME, MODEL)."""
    status, rest = line.split(" ", 3)[2:]
    name, _took, model = rest.rsplit(" ", 2)
    return status, name, model.strip("()")


def test_the_seed_guides_script_ends_cleanly_against_serve(tmp_path):
    run, code, lines = run_against_serve(tmp_path, [], [])
    assert run.returncode == 0, run.stderr
    assert "Termination message condition on agent 'user_proxy' met" in run.stdout
    assert "Monthly sales" in run.stdout, "the proxy ran the assistant's script"
    assert code == 0, "every request was answered"
    assert [answered(line) for line in lines] == [
        ("200", turn, "mock-claude-sonnet-4") for turn in TURNS
    ]


def test_its_failover_variant_fails_over_on_every_turn(tmp_path):
    down = ("503", "--fail-model mock-claude-sonnet-4", "mock-claude-sonnet-4")
    run, code, lines = run_against_serve(
        tmp_path, ["--fail-model", "mock-claude-sonnet-4"], ["--failover"]
    )
    assert run.returncode == 0, run.stderr
    assert "Termination message condition on agent 'user_proxy' met" in run.stdout
    assert "Monthly sales" in run.stdout
    assert run.stdout.rstrip().endswith("Answered by: mock-gpt-4")
    assert code == 0
    # The SDK retries a 503 twice, then AG2 moves on to the next config.
    assert [answered(line) for line in lines] == [
        item for turn in TURNS for item in (down, down, down, ("200", turn, "mock-gpt-4"))
    ]
