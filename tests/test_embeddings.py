"""`POST /v1/embeddings`: deterministic vectors, both encodings, saved examples."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from pytest_llm_mock import LLMMockServer

from . import http, openapi, postman

SAVED = [0.25, -0.5, 0.75, 0.0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LLMMockServer]:
    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": SAVED}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    item = postman.item(
        "saved vector",
        {"model": "text-embedding-3-small", "input": "the saved one"},
        postman.example("saved", body),
        path="v1/embeddings",
    )
    path = postman.write(tmp_path / "embeddings.json", postman.collection(item))
    with LLMMockServer(path) as mock:
        yield mock


def embed(server: LLMMockServer, text: Any, **options: Any) -> list[list[float]]:
    client = server.openai_client(max_retries=0)
    result = client.embeddings.create(model="text-embedding-3-small", input=text, **options)
    return [list(item.embedding) for item in result.data]


def test_base64_by_default_and_float_give_equal_vectors(server: LLMMockServer) -> None:
    (default,) = embed(server, "hello world")
    (floats,) = embed(server, "hello world", encoding_format="float")
    assert server.requests[0].json["encoding_format"] == "base64", "the SDK's default"
    assert len(default) == 1536
    assert default == pytest.approx(floats, abs=1e-6)
    assert math.sqrt(sum(v * v for v in floats)) == pytest.approx(1.0)


def test_the_same_text_gives_the_same_vector(server: LLMMockServer) -> None:
    first, other, again = embed(server, ["alpha", "beta", "alpha"], encoding_format="float")
    assert first == again
    assert first != other


def test_dimensions_and_token_inputs(server: LLMMockServer) -> None:
    (short,) = embed(server, "hello", dimensions=8, encoding_format="float")
    assert len(short) == 8
    tokens = embed(server, [[1, 2, 3], [4, 5]], encoding_format="float")
    assert [len(v) for v in tokens] == [1536, 1536]
    client = server.openai_client()
    large = client.embeddings.create(
        model="text-embedding-3-large", input="x", encoding_format="float"
    )
    assert len(large.data[0].embedding) == 3072


def test_any_model_name_and_whole_number_dimensions(server: LLMMockServer) -> None:
    """JSON has one number type: `8.0` dimensions is 8. Any model string is served."""
    body = {"model": "", "input": "x", "dimensions": 8.0, "encoding_format": "float"}
    response = http.request(server.url, "POST", "/v1/embeddings", body)
    assert response.status == 200
    assert len(response.json()["data"][0]["embedding"]) == 8


def test_a_saved_example_answers_in_either_encoding(server: LLMMockServer) -> None:
    assert embed(server, "the saved one", encoding_format="float") == [SAVED]
    assert embed(server, "the saved one") == [pytest.approx(SAVED)]
    server.assert_call_count(2, example="saved")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": [1, "a"]}, "input"),
        ({"model": "m", "input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions"),
    ],
)
def test_bad_requests_are_400s_that_name_the_param(
    server: LLMMockServer, body: Any, param: str
) -> None:
    response = http.request(server.url, "POST", "/v1/embeddings", body)
    assert response.status == 400
    assert response.json()["error"]["param"] == param


def test_faults_and_the_journal_cover_embeddings(server: LLMMockServer) -> None:
    server.fail_next(503)
    with pytest.raises(openai.InternalServerError):
        embed(server, "x")
    embed(server, "x")
    server.assert_called_once(path="/v1/embeddings", example="generated embeddings")
    assert [r.status for r in server.requests] == [503, 200]


def test_bodies_are_valid(server: LLMMockServer, validate: openapi.Validate) -> None:
    # The spec types `embedding` as floats only; the base64 form the SDK asks for by default
    # is checked against the float form in the first test.
    for body in (
        {"model": "text-embedding-3-small", "input": ["a", "b"]},
        {"model": "text-embedding-3-small", "input": "the saved one"},
    ):
        response = http.request(server.url, "POST", "/v1/embeddings", body)
        validate("CreateEmbeddingResponse", response.json())
