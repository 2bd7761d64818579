"""The web page's server side, over real sockets: the page and its files, the JSON it reads
(paged, behind the API key when the server requires one), the live feed, and saving an
answer, which is refused (403, saying why) unless everything allows it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import postman
from .served import Served, serving


def write_collection(path: Path) -> Path:
    hello = postman.chat_item("Hello", postman.chat_body(("user", "Hello")), "Hi there!")
    data = postman.collection(postman.folder("Small talk", hello))
    data["x-unknown-field"] = {"kept": True}
    path.write_text(json.dumps(data, indent="\t") + "\n", encoding="utf-8")
    return path


def page_of(url: str) -> str:
    return url + "/_llm_mock/"


def sdk(base_url: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0, **kwargs)


def miss(base_url: str, text: str = "Hello there") -> None:
    with pytest.raises(openai.NotFoundError):
        sdk(base_url).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    with LLMMockServer(write_collection(tmp_path / "collection.json"), strict=False) as running:
        yield running


def test_the_page_and_its_files_are_served_from_the_package_with_a_strict_policy(
    server: LLMMockServer,
) -> None:
    page = httpx.get(page_of(server.url))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    # Offline: no URL of the page leaves the server; all are relative to the page.
    assert "http" not in page.text
    assert 'src="/' not in page.text
    assert 'href="/' not in page.text
    for name, kind in (("page.js", "text/javascript"), ("page.css", "text/css")):
        response = httpx.get(page_of(server.url) + name)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert "http://" not in response.text
        assert "https://" not in response.text
    redirect = httpx.get(server.url + "/_llm_mock")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == page_of(server.url)
    assert len(server.requests) == 0, "the page's own requests are not journaled"


def test_the_fixtures_server_serves_the_page_under_each_tests_prefix(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_page(llm_mock_server):
            client = llm_mock_server.openai_client(max_retries=0)
            client.chat.completions.create(
                model="mock-gpt-4", messages=[{"role": "user", "content": "Hello"}]
            )
            assert llm_mock_server.url.split("/")[-2] == "_t"
            page = httpx.get(llm_mock_server.url + "/_llm_mock")
            assert page.headers["location"] == llm_mock_server.url + "/_llm_mock/"
            assert httpx.get(llm_mock_server.url + "/_llm_mock/").status_code == 200
            rows = httpx.get(llm_mock_server.url + "/_llm_mock/api/requests").json()["rows"]
            assert [r["example"] for r in rows] == ["Small talk/Hello/Greeting"]
            info = httpx.get(llm_mock_server.url + "/_llm_mock/api/info").json()
            assert info["test"].endswith("::test_page")
            assert info["edits"]["allowed"] is False
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_json_needs_the_key_the_server_requires_and_the_page_does_not(
    server: LLMMockServer,
) -> None:
    server.require_api_key = "sk-page"
    assert httpx.get(page_of(server.url)).status_code == 200
    for path in ("api/info", "api/requests", "api/misses", "api/collection", "api/events"):
        refused = httpx.get(page_of(server.url) + path)
        assert refused.status_code == 401, path
        assert refused.json()["error"]["code"] == "invalid_api_key"
    allowed = httpx.get(
        page_of(server.url) + "api/info", headers={"Authorization": "Bearer sk-page"}
    )
    assert allowed.status_code == 200


def test_requests_are_paged_newest_first(server: LLMMockServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        for i in range(250):
            body = {"model": "m", "messages": [{"role": "user", "content": f"message {i}"}]}
            assert client.post("/chat/completions", json=body).status_code == 404
    seen: list[str] = []
    before = ""
    for expected, more in ((100, True), (100, True), (50, False)):
        page = httpx.get(
            page_of(server.url) + "api/requests", params={"before": before} if before else {}
        ).json()
        assert len(page["rows"]) == expected
        assert page["more"] is more
        seen += [r["user"] for r in page["rows"]]
        before = page["rows"][-1]["id"]
    assert seen == [f"message {i}" for i in reversed(range(250))]
    detail = httpx.get(page_of(server.url) + "api/requests/" + before).json()
    assert detail["user"] == "message 0"
    assert detail["comparisons"][0]["example"] == "Small talk/Hello/Hello"
    assert httpx.get(page_of(server.url) + "api/requests/12.5").status_code == 404


def test_the_live_feed_sends_each_new_request_and_a_stopping_server_cuts_it_at_once(
    tmp_path: Path,
) -> None:
    server = LLMMockServer(write_collection(tmp_path / "collection.json"), strict=False).start()
    try:
        port = int(server.url.rsplit(":", 1)[1])
        feed = socket.create_connection(("127.0.0.1", port), timeout=10)
        feed.sendall(b"GET /_llm_mock/api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while b"live requests" not in received:
            received += feed.recv(65536) or pytest.fail(f"the feed ended: {received!r}")
        sdk(server.base_url).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
        )
        marker = b"event: entry\ndata: "  # (in HTTP chunks: the feed has no length)
        while marker not in received or b"\n" not in received.split(marker, 1)[1]:
            received += feed.recv(65536) or pytest.fail(f"the feed ended: {received!r}")
        data = received.split(marker, 1)[1].split(b"\n", 1)[0]
        row = json.loads(data)
        assert row["example"] == "Small talk/Hello/Hello"
        assert row["user"] == "Hello"
    except BaseException:
        server.stop()
        raise
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2, "an open feed does not hold up the server's stop"
    ended = threading.Event()

    def drain() -> None:
        while feed.recv(65536):
            pass
        ended.set()

    threading.Thread(target=drain, daemon=True).start()
    assert ended.wait(5), "the feed's connection was closed"
    feed.close()


# -- saving an answer ------------------------------------------------------------------------


def answer_miss(
    served: Served, token: str | None, client: httpx.Client | None = None, **headers: str
) -> httpx.Response:
    """POST an answer to the newest miss, with `token` (if given) and `headers`."""
    page = page_of(served.base_url.removesuffix("/v1"))
    rows = httpx.get(page + "api/misses").json()["rows"]
    if token is not None:
        headers["x-llm-mock-csrf"] = token
    body = {"request": rows[0]["id"], "text": "Hello to you!"}
    if client is None:
        return httpx.post(page + "api/answers", json=body, headers=headers)
    return client.post(page + "api/answers", json=body, headers=headers)


def token_of(served: Served) -> str | None:
    info = httpx.get(page_of(served.base_url.removesuffix("/v1")) + "api/info").json()
    return info["edits"]["token"]  # type: ignore[no-any-return]


def test_saving_is_refused_from_another_address_without_a_token_or_from_another_site(
    tmp_path: Path,
) -> None:
    collection = write_collection(tmp_path / "collection.json")
    before = collection.read_bytes()
    with serving("collection.json", "--allow-edits", "--lenient", cwd=tmp_path) as served:
        miss(served.base_url)
        token = token_of(served)
        assert token
        elsewhere = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with elsewhere:
            info = elsewhere.get(page_of(served.base_url.removesuffix("/v1")) + "api/info").json()
            assert info["edits"]["token"] is None
            assert not info["edits"]["allowed"]
            cases = [
                (
                    elsewhere,
                    token,
                    {},
                    "allowed only from 127.0.0.1; this request came from 127.0.0.2",
                ),
                (None, None, {}, "no valid CSRF token (header x-llm-mock-csrf)"),
                (None, "not-the-token", {}, "no valid CSRF token"),
                (None, token, {"origin": "http://evil.example"}, "from another site's page"),
                (None, token, {"host": "evil.example"}, "opened at 127.0.0.1 or localhost"),
            ]
            for client, given, headers, message in cases:
                refused = answer_miss(served, given, client, **headers)
                assert refused.status_code == 403, (message, refused.text)
                assert message in refused.json()["error"]["message"]
    assert collection.read_bytes() == before


def test_saving_is_refused_without_allow_edits_and_into_the_embedded_default(
    tmp_path: Path,
) -> None:
    write_collection(tmp_path / "collection.json")
    with serving("collection.json", "--lenient", cwd=tmp_path) as served:
        miss(served.base_url)
        refused = answer_miss(served, "any")
        assert refused.status_code == 403
        assert "Saving answers is off: start the server with" in refused.json()["error"]["message"]
        assert "--allow-edits" in refused.json()["error"]["message"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with serving("--allow-edits", "--lenient", cwd=empty) as served:
        miss(served.base_url)
        info = httpx.get(page_of(served.base_url.removesuffix("/v1")) + "api/info").json()
        assert "embedded default" in info["edits"]["reason"]
        refused = answer_miss(served, "any")
        assert refused.status_code == 403
        assert "The collection is the embedded default" in refused.json()["error"]["message"]
    assert list(empty.iterdir()) == []


def test_a_saved_answer_is_a_filled_in_capture_draft_served_once_watch_reloads(
    tmp_path: Path,
) -> None:
    collection = write_collection(tmp_path / "collection.json")
    with serving(
        "collection.json", "--allow-edits", "--watch", "--lenient", cwd=tmp_path
    ) as served:
        miss(served.base_url)
        saved = answer_miss(served, token_of(served))
        assert saved.status_code == 200, saved.text
        assert saved.json()["saved"] == "Captured/Captured: Hello there"
        served.wait_for("reloaded")
        answer = sdk(served.base_url).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello there"}]
        )
        assert answer.choices[0].message.content == "Hello to you!"
        again = answer_miss(served, token_of(served))
        assert again.status_code == 200, "the same miss, answered again, replaces its answer"
    text = collection.read_text(encoding="utf-8")
    assert text.startswith('{\n\t"info"'), "indented as it was"
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["x-unknown-field"] == {"kept": True}
    (captured,) = [f for f in data["item"] if f["name"] == "Captured"]
    (item,) = captured["item"]
    (example,) = item["response"]
    assert example["name"] == "answer"
    assert example["body"] == "Hello to you!"


def test_an_answer_that_cannot_be_saved_is_a_400_saying_why(tmp_path: Path) -> None:
    write_collection(tmp_path / "collection.json")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"text": "  "}, "Type the answer's text (or tool calls as JSON) before saving."),
        ({"text": 3}, "`text` must be a string."),
        ({"tool_calls": {"name": "f"}}, "Tool calls must be a JSON list"),
        ({"tool_calls": [{"arguments": {}}]}, 'Tool call 1 needs a "name"'),
        ({"tool_calls": [{"name": "f", "arguments": "{oops"}]}, "tool call 1 (f) are not JSON"),
    ]
    with serving("collection.json", "--allow-edits", "--lenient", cwd=tmp_path) as served:
        miss(served.base_url)
        page = page_of(served.base_url.removesuffix("/v1"))
        token = token_of(served) or ""
        rows = httpx.get(page + "api/misses").json()["rows"]
        for payload, message in cases:
            response = httpx.post(
                page + "api/answers",
                json={"request": rows[0]["id"], **payload},
                headers={"x-llm-mock-csrf": token},
            )
            assert response.status_code == 400, payload
            assert message in response.json()["error"]["message"]
        answered = httpx.get(page + "api/requests").json()["rows"]
        assert answered[0]["miss"]
        gone = httpx.post(
            page + "api/answers",
            json={"request": "1.5", "text": "x"},
            headers={"x-llm-mock-csrf": token},
        )
        assert gone.status_code == 404
