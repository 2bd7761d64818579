"""Which collection, strategy and strictness a test gets, from its marker, the command line,
the ini file and the rootdir, in that order (design.md, "Names").

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

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
_MARKER_KWARGS = ("match", "strict", "require_api_key")


@dataclass(frozen=True)
class Settings:
    collection: Collection
    strategy: Strategy
    strict: bool
    api_key: str | None = None  # the marker's require_api_key
    fallback: str | None = None  # where collection.json was looked for, if the default answers


def settings_for(item: pytest.Item) -> Settings:
    """Resolve and load what `item` is served. Raises `pytest.UsageError` naming the source."""
    config = item.config
    marker = item.get_closest_marker(MARKER)
    path, match, strict, api_key = None, None, None, None
    if marker is not None:
        path, match, strict = _marker_arguments(item, marker)
        api_key = marker.kwargs.get("require_api_key")
    collection, fallback = _collection(item, path)
    if match is None:
        match = config.getoption("llm_match") or config.getini("llm_match") or "conversation"
    if strict is None:
        strict = False if config.getoption("llm_lenient") else bool(config.getini("llm_strict"))
    chosen = strategy(match, _match_source(item, marker))
    return Settings(collection, chosen, strict, api_key, fallback)


def strategy(match: MatchSpec, source: str) -> Strategy:
    try:
        return resolve_strategy(match)
    except ValueError as exc:
        raise pytest.UsageError(f"pytest-llm-mock: {source}: {exc}") from None


def _match_source(item: pytest.Item, marker: pytest.Mark | None) -> str:
    if marker is not None and "match" in marker.kwargs:
        return f"llm_collection marker of {item.nodeid}"
    if item.config.getoption("llm_match"):
        return "--llm-match"
    return "ini option llm_match"


def _marker_arguments(
    item: pytest.Item, marker: pytest.Mark
) -> tuple[Path | None, Any, bool | None]:
    where = f"llm_collection marker of {item.nodeid}"
    unknown = sorted(set(marker.kwargs) - set(_MARKER_KWARGS) - {"path"})
    if unknown or len(marker.args) > 1:
        raise pytest.UsageError(
            f"pytest-llm-mock: {where}: expected llm_collection(path, *, match=None, "
            f"strict=None, require_api_key=None), got args={marker.args!r} "
            f"kwargs={marker.kwargs!r}"
        )
    key = marker.kwargs.get("require_api_key")
    if key is not None and (not isinstance(key, str) or not key):
        raise pytest.UsageError(
            f"pytest-llm-mock: {where}: require_api_key must be a non-empty string or None"
        )
    raw = marker.args[0] if marker.args else marker.kwargs.get("path")
    strict = marker.kwargs.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise pytest.UsageError(f"pytest-llm-mock: {where}: strict must be True, False or None")
    path = None
    if raw is not None:
        path = item.path.parent / Path(raw)
    return path, marker.kwargs.get("match"), strict


def _collection(item: pytest.Item, marker_path: Path | None) -> tuple[Collection, str | None]:
    """The collection, and where collection.json was looked for if the default answers."""
    config = item.config
    if marker_path is not None:
        return _load(marker_path, f"llm_collection marker of {item.nodeid}"), None
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
