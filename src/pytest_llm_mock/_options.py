"""Which collection, strategy and strictness a test gets, from its markers, the command line,
the ini file and the rootdir, in that order (design.md, "Names").

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._capture import Capturer
from ._collection import Collection, CollectionError, default_collection_path
from ._fixture import LLMMockServer, MatchSpec
from ._matching import Strategy, resolve_strategy
from ._postman import load_cached
from ._record import Recorder

MARKER = "llm_collection"
_MARKER_ARGUMENTS = ("path", "match", "strict", "require_api_key")
_SIGNATURE = "llm_collection(path, *, match=None, strict=None, require_api_key=None)"


@dataclass(frozen=True)
class Settings:
    collection: Collection
    strategy: Strategy
    strict: bool
    api_key: str | None = None  # the marker's require_api_key
    fallback: str | None = None  # where collection.json was looked for, if the default answers


@dataclass(frozen=True)
class _Marked:
    """One marker argument a test gets, and the marker it comes from."""

    value: Any
    source: str


def settings_for(item: pytest.Item) -> Settings:
    """Resolve and load what `item` is served. Raises `pytest.UsageError` naming the source."""
    config = item.config
    marked = marker_arguments(item)
    collection, fallback = _collection(config, marked.get("path"))
    if "match" in marked:
        match, source = marked["match"].value, marked["match"].source
    else:
        match, source = _run_match(config)
    if "strict" in marked:
        strict = bool(marked["strict"].value)
    else:
        strict = False if config.getoption("llm_lenient") else bool(config.getini("llm_strict"))
    api_key = marked["require_api_key"].value if "require_api_key" in marked else None
    return Settings(collection, strategy(match, source), strict, api_key, fallback)


def session_settings(config: pytest.Config) -> tuple[Collection, Strategy, str | None]:
    """What answers requests sent while no test runs: the run's collection and strategy (no
    marker applies), and where collection.json was looked for if the default answers."""
    collection, fallback = _collection(config, None)
    return collection, strategy(*_run_match(config)), fallback


def _run_match(config: pytest.Config) -> tuple[MatchSpec, str]:
    """The run's match strategy and where it was given."""
    if config.getoption("llm_match"):
        return config.getoption("llm_match"), "--llm-match"
    return config.getini("llm_match") or "conversation", "ini option llm_match"


def strategy(match: MatchSpec, source: str) -> Strategy:
    try:
        return resolve_strategy(match)
    except ValueError as exc:
        raise pytest.UsageError(f"pytest-llm-mock: {source}: {exc}") from None


def marker_arguments(item: pytest.Item) -> dict[str, _Marked]:
    """Each argument the test's `llm_collection` markers set (None sets nothing), taken from
    the closest marker that sets it: the test's own, then its class's, then its module's.
    Every marker is checked, including those whose arguments closer ones override."""
    marked: dict[str, _Marked] = {}
    for node, marker in item.iter_markers_with_node(MARKER):
        source = f"llm_collection marker of {node.nodeid or node.path}"
        # pytest keeps no record of where a marker was written: a relative path resolves
        # against the folder of the node that carries the marker (the test's module for a
        # test, class or module marker; the folder itself for a folder's node).
        folder = node.path if node.path.is_dir() else node.path.parent
        for name, value in _checked(marker, folder, source).items():
            marked.setdefault(name, _Marked(value, source))
    return marked


def _checked(marker: pytest.Mark, folder: Path, source: str) -> dict[str, Any]:
    """The arguments one marker sets, checked, its path resolved against `folder`."""
    unknown = sorted(set(marker.kwargs) - set(_MARKER_ARGUMENTS))
    if unknown or len(marker.args) > 1 or (marker.args and "path" in marker.kwargs):
        raise pytest.UsageError(
            f"pytest-llm-mock: {source}: expected {_SIGNATURE}, "
            f"got args={marker.args!r} kwargs={marker.kwargs!r}"
        )
    given = {**marker.kwargs, **({"path": marker.args[0]} if marker.args else {})}
    arguments = {name: value for name, value in given.items() if value is not None}
    path = arguments.get("path")
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise pytest.UsageError(
                f"pytest-llm-mock: {source}: path must be a string or a path, got {path!r}"
            )
        arguments["path"] = folder / Path(path)
    strict = arguments.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise pytest.UsageError(
            f"pytest-llm-mock: {source}: strict must be True, False or None, got {strict!r}"
        )
    key = arguments.get("require_api_key")
    if key is not None and (not isinstance(key, str) or not key):
        raise pytest.UsageError(
            f"pytest-llm-mock: {source}: require_api_key must be a non-empty string or None, "
            f"got {key!r}"
        )
    return arguments


def _collection(config: pytest.Config, marked: _Marked | None) -> tuple[Collection, str | None]:
    """The collection, and where collection.json was looked for if the default answers."""
    if marked is not None:
        return _load(marked.value, marked.source), None
    flag = config.getoption("llm_collection")
    if flag:
        return _load(config.invocation_params.dir / flag, "--llm-collection"), None
    ini = config.getini("llm_collection")
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        where = f"ini option llm_collection in {config.inipath or 'the ini file'}"
        return _load(base / ini, where), None
    default = config.rootpath / "collection.json"
    if default.is_file():
        return _load(default, "collection.json in the rootdir"), None
    fallback = f"{config.rootpath} (pytest's rootdir)"
    return _load(default_collection_path(), "the embedded default"), fallback


def _load(path: Path, source: str) -> Collection:
    try:
        return load_cached(path)
    except CollectionError as exc:
        raise pytest.UsageError(f"pytest-llm-mock: collection from {source}: {exc}") from None


def recording(
    config: pytest.Config, settings: Settings, upstream: str
) -> tuple[Collection, Recorder]:
    """Record mode for a test: its collection file (or the rootdir's `collection.json`, never
    the embedded default), read afresh since an earlier test may have recorded into it, and
    the recorder that writes it."""
    collection = settings.collection
    path = collection.path
    if path is None or settings.fallback is not None:
        path = config.rootpath / "collection.json"
    try:
        recorder = Recorder(upstream, path)
    except ValueError as exc:
        raise pytest.UsageError(f"pytest-llm-mock: --llm-record: {exc}") from None
    current = _load(path, "record mode") if path.exists() else collection
    return current, recorder


def capturing(config: pytest.Config, settings: Settings) -> Capturer:
    """Capture mode for a test: drafts go to its collection file, or to the rootdir's
    `collection.json` (a copy of the embedded default's items to begin with)."""
    path = settings.collection.path
    if path is None or settings.fallback is not None:
        path = config.rootpath / "collection.json"
    return Capturer(path, seed=default_collection_path())


def configure(server: LLMMockServer, config: pytest.Config, settings: Settings) -> None:
    """Point the session's server at a test's collection, strategy and strictness; in record
    mode, at the file it records into."""
    upstream = config.getoption("llm_record")
    collection, recorder = settings.collection, None
    if upstream:
        collection, recorder = recording(config, settings, upstream)
    server.use(collection, match=settings.strategy)
    server._state.fallback = None if recorder else settings.fallback
    server._state.recorder = recorder
    if config.getoption("llm_capture") or config.getini("llm_capture"):
        server._state.capturer = capturing(config, settings)
    server.strict = settings.strict
    if settings.api_key is not None:
        server.require_api_key = settings.api_key
