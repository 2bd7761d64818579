"""The seed guide's AutoGen script, as a user runs it: `pytest-llm-mock serve` in one process,
`python seed_guide.py` in another. It ends cleanly, every turn answered by the embedded default
collection."""

import os
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("seed_guide.py")


def test_the_seed_guides_script_ends_cleanly_against_serve(tmp_path):
    serve = subprocess.Popen(
        [sys.executable, "-m", "pytest_llm_mock", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,  # no collection.json here: the embedded default answers
    )
    try:
        lines = [serve.stdout.readline(), serve.stdout.readline()]
        base_url = lines[1].split("base_url:", 1)[1].strip()
        env = {**os.environ, "LLM_MOCK_BASE_URL": base_url}
        run = subprocess.run(
            [sys.executable, str(SCRIPT)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "Termination message condition on agent 'user_proxy' met" in run.stdout
        assert "Monthly sales" in run.stdout, "the proxy ran the assistant's script"
    finally:
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=10)
    assert serve.returncode == 0, "every request was answered"
    answered = [line for line in out.splitlines() if line.startswith("POST ")]
    assert [line.split(" 200 ")[1].rsplit(" ", 1)[0] for line in answered] == [
        "AutoGen seed guide/Turn 1: the task/Script",
        "AutoGen seed guide/Turn 2: the script's output/Summary",
        "AutoGen seed guide/Turn 3: the empty auto-reply/Terminate",
    ]
    assert out.splitlines()[-1].startswith("pytest-llm-mock stopped: 3 requests, 0 not answered")
