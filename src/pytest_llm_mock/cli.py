"""The `pytest-llm-mock` command: `serve` runs the mock server standalone.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from ._capture import Capturer
from ._collection import CollectionError, default_collection_path
from ._connections import raise_open_file_limit
from ._faults import Failure, RateLimit
from ._fixture import LLMMockServer
from ._journal import DEFAULT_MAX_SIZE, Journal, RecordedRequest
from ._log import LineHandler, LineWriter
from ._matching import STRATEGY_NAMES, Strategy, resolve_strategy
from ._postman import load_collection
from ._record import Recorder
from ._state import DEFAULT_MAX_BODY_BYTES
from ._watch import Watcher
from ._web_edits import Edits

USAGE_ERROR = 2
OUTPUT_GRACE = 1.0  # seconds the last lines may take to be written once serve has stopped


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-llm-mock",
        description="A deterministic OpenAI-compatible server answering from a Postman collection.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve a collection over HTTP until interrupted")
    serve.add_argument(
        "collection",
        nargs="?",
        help="Postman collection (default: ./collection.json, else the embedded default)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    serve.add_argument(
        "--watch", action="store_true", help="reload the collection when the file is saved"
    )
    serve.add_argument(
        "--capture",
        action="store_true",
        help="save each request nothing answered as a draft item of the collection file "
        "(./collection.json when serving the embedded default)",
    )
    serve.add_argument(
        "--allow-edits",
        action="store_true",
        help="let the web page (/_llm_mock/) save answers to misses into COLLECTION, from "
        "127.0.0.1 only (default: off)",
    )
    serve.add_argument(
        "--lenient",
        action="store_true",
        help="exit 0 at shutdown even if some requests were not answered (default: exit 1)",
    )
    serve.add_argument(
        "--require-api-key",
        metavar="KEY",
        help="answer 401 to requests without this key (bearer, api-key or x-api-key)",
    )
    serve.add_argument(
        "--journal-limit",
        type=int,
        default=10_000,
        metavar="N",
        help="requests kept for /_llm_mock/requests (default 10000; older ones are dropped)",
    )
    serve.add_argument(
        "--journal-max-size",
        type=int,
        default=DEFAULT_MAX_SIZE,
        metavar="BYTES",
        help=f"bytes of requests kept for /_llm_mock/requests (default {DEFAULT_MAX_SIZE}; "
        "older ones are dropped)",
    )
    serve.add_argument(
        "--max-body-size",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="BYTES",
        help=f"larger request bodies get a 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    serve.add_argument(
        "--record",
        metavar="UPSTREAM_BASE_URL",
        help="send unanswered requests upstream and save the answers in COLLECTION "
        "(key from LLM_MOCK_UPSTREAM_API_KEY)",
    )
    serve.add_argument(
        "--rate-limit",
        metavar="N[/SECONDS]",
        help="answer 429 past N chat requests per API key per window (default 60 seconds)",
    )
    serve.add_argument(
        "--fail-model",
        action="append",
        default=[],
        metavar="MODEL[=STATUS]",
        help="answer every request for MODEL with STATUS (default 503), as if it were down, "
        "so that clients with a fallback model fail over (repeatable)",
    )
    serve.add_argument(
        "--match",
        default="conversation",
        help=f"match strategy: {', '.join(STRATEGY_NAMES)} (default conversation)",
    )
    init = commands.add_parser(
        "init", help="write a starter collection.json (the embedded default's items) to edit"
    )
    init.add_argument(
        "path",
        nargs="?",
        default="collection.json",
        help="file or folder to write (default ./collection.json); an existing file is kept",
    )
    check = commands.add_parser("check", help="report what in a collection will not work")
    check.add_argument("collection", help="Postman collection file")
    check.add_argument(
        "--match",
        default="conversation",
        help=f"match strategy: {', '.join(STRATEGY_NAMES)} (default conversation)",
    )
    return parser


def run() -> None:
    """The `pytest-llm-mock` command (and `python -m pytest_llm_mock`): `main()`, then exit.

    Once serve has stopped and said so, there is nothing left to do but exit, and Python's own
    clean-up (the modules, the threads' states) would take longer than the stop itself: the
    command ends at once, its output flushed. `main()` itself returns, for callers in Python."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader that went away: exit all the same
            stream.flush()
    main_thread = threading.main_thread()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not main_thread):
        # Work still going on outside the server (record mode's upstream call, whose answer
        # is saved when it comes): Python's own exit waits for it.
        sys.exit(code)
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(parser, args)
    if args.command == "init":
        return _init(parser, Path(args.path))
    return _serve(parser, args)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Exit 0 clean, 1 with findings (a file that does not parse is one), 2 usage error."""
    from ._check import findings  # serve does without it

    path = Path(args.collection)
    try:
        strategy = resolve_strategy(args.match)
    except ValueError as exc:
        parser.exit(USAGE_ERROR, f"pytest-llm-mock: error: {exc}\n")
    if not path.is_file():
        parser.exit(USAGE_ERROR, f"pytest-llm-mock: error: {path}: no such file\n")
    errors: list[CollectionError] = []  # items that cannot be read: the rest is still checked
    try:
        collection = load_collection(path, errors=errors)
    except CollectionError as exc:  # the file as a whole
        print(exc)
        print("1 finding")
        return 1
    for error in errors:
        print(error)
    soft = findings(collection, strategy)
    for finding in soft:
        print(f"{path}, {finding.where}: {finding.message}")
    found = len(errors) + len(soft)
    count = len(collection.examples)
    if not found:
        print(f"{path}: {count} examples, no findings (match: {strategy.name})")
        return 0
    print(f"{found} finding{'s' if found != 1 else ''} in {count} examples")
    return 1


def _init(parser: argparse.ArgumentParser, path: Path) -> int:
    """Write the embedded default collection where the user can edit it; never overwrite."""
    if path.is_dir():
        path = path / "collection.json"
    source = default_collection_path()
    try:
        with path.open("xb") as out:  # "x": fails if the file exists, even in a race
            out.write(source.read_bytes())
    except FileExistsError:
        parser.exit(USAGE_ERROR, f"pytest-llm-mock: error: {path} exists; it was left as it is\n")
    except OSError as exc:
        parser.exit(USAGE_ERROR, f"pytest-llm-mock: error: cannot write {path}: {exc.strerror}\n")
    count = len(load_collection(path).examples)
    print(
        f"wrote {path} ({count} examples): import it into Postman (Import > File) or edit it. "
        "The plugin serves collection.json from pytest's rootdir, serve from the current folder."
    )
    return 0


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    path = Path(args.collection) if args.collection else Path("collection.json")
    fallback = None
    if args.collection is None and not path.is_file():
        path = default_collection_path()
        fallback = f"{Path.cwd()} (the current folder)"
    try:
        collection = load_collection(path)
        strategy = resolve_strategy(args.match)
        limit = _rate_limit(args.rate_limit) if args.rate_limit else None
        recorder = _recorder(args.record, path) if args.record else None
        down = [_down_model(spec) for spec in args.fail_model]
    except (CollectionError, ValueError) as exc:
        parser.exit(USAGE_ERROR, f"pytest-llm-mock: error: {exc}\n")
    for flag in ("journal_limit", "journal_max_size", "max_body_size"):
        if getattr(args, flag) < 1:
            option = "--" + flag.replace("_", "-")
            parser.exit(USAGE_ERROR, f"pytest-llm-mock: error: {option} must be 1 or more\n")
    server = LLMMockServer(
        collection,
        match=strategy,
        host=args.host,
        port=args.port,
        strict=False,
        journal_limit=args.journal_limit,
        journal_max_size=args.journal_max_size,
        max_body_size=args.max_body_size,
    )
    server._server.default_rate_limit = server._state.rate_limit = limit
    server._server.default_api_key = server._state.api_key = args.require_api_key
    _modes(server, args.capture, path, fallback, recorder)
    if args.allow_edits:
        server._server.edits = Edits(path, watching=args.watch)
    for model, status in down:
        server._state.fail_next(partial(_model_down, model=model, status=status))
    raise_open_file_limit()  # before start: the server sizes its connection limit on it
    try:
        server.start()
    except OSError as exc:
        parser.exit(
            USAGE_ERROR,
            f"pytest-llm-mock: error: cannot listen on {args.host}:{args.port}: {exc.strerror}\n",
        )
    return _serve_until_stopped(server, args, path, strategy)


def _serve_until_stopped(
    server: LLMMockServer, args: argparse.Namespace, path: Path, strategy: Strategy
) -> int:
    """Log each request until SIGINT or SIGTERM; exit 1 if some were not answered."""
    collection = server.collection
    # Every line goes through one writer per stream: serving never waits for a reader.
    out = LineWriter(sys.stdout)
    errors = LineHandler(LineWriter(sys.stderr))  # uvicorn's warnings and errors
    logging.getLogger().addHandler(errors)

    def log(line: str) -> None:
        out.write(f"pytest-llm-mock: {line}")

    state = server._state
    state.journal.listen(lambda request: out.write(_request_line(request)))
    state.journal.listen(_limit_reached(state.journal, log))
    watcher = None
    if args.watch:
        watcher = Watcher(path, collection, lambda c: server.use(c, match=strategy), log)
        watcher.start()
    # SIGINT and SIGTERM write to a socket the main thread reads: a Python handler runs only
    # once the main thread runs Python code again, so one that set a threading.Event just as
    # the main thread went to wait on it would run when the wait ended, an hour later.
    wake, woken = socket.socketpair()
    woken.setblocking(False)  # as set_wakeup_fd needs
    previous_fd = signal.set_wakeup_fd(woken.fileno(), warn_on_full_buffer=False)
    stopping = {signal.SIGINT, signal.SIGTERM}
    for signum in stopping:
        signal.signal(signum, lambda *_: None)  # installed, so that the signal writes to woken
    count = len(collection.examples)
    out.write(
        f"pytest-llm-mock serving {collection.describe()} "
        f"({count} examples, match: {strategy.name}{', watching' if watcher else ''})"
    )
    out.write(f"  base_url: {server.base_url}")
    out.write(f"  web page: {server.url}/_llm_mock/")
    if args.host in ("0.0.0.0", "::"):
        log(f"warning: listening on all interfaces ({args.host}): the network can reach it")
    try:
        try:
            while not stopping.intersection(wake.recv(64)):  # the numbers of the signals
                pass  # another signal with a Python handler
        finally:
            signal.set_wakeup_fd(previous_fd)
            wake.close()
            woken.close()
    finally:
        try:
            if watcher is not None:
                watcher.stop()
            server.stop()  # bounded: answers at work get a grace period, paused ones none
        finally:
            logging.getLogger().removeHandler(errors)
    journal = state.journal
    unanswered = journal.miss_count  # all of them, whatever the journal limit dropped
    lost = f"; log lines dropped: {out.dropped} (the output was not read)" if out.dropped else ""
    out.write(
        f"pytest-llm-mock stopped: {len(journal) + journal.dropped} requests, "
        f"{unanswered} not answered{lost}"
    )
    # A reader that went away must not keep serve from exiting: the writers are daemons.
    out.close(OUTPUT_GRACE)
    errors.writer.close(OUTPUT_GRACE)
    return 1 if unanswered and not args.lenient else 0


def _modes(
    server: LLMMockServer,
    capture: bool,
    path: Path,
    fallback: str | None,
    recorder: Recorder | None,
) -> None:
    """Record and capture modes, and where collection.json was looked for."""
    state = server._state
    state.recorder, state.fallback = recorder, fallback
    if capture:
        target = Path("collection.json") if fallback else path
        state.capturer = Capturer(target, seed=default_collection_path())


def _limit_reached(
    journal: Journal, log: Callable[[str], None]
) -> Callable[[RecordedRequest], None]:
    """A listener that says once when the journal starts dropping requests, and why."""
    said = threading.Event()

    def listener(_: RecordedRequest) -> None:
        if journal.dropped and not said.is_set():
            said.set()
            log(
                f"the journal limit ({journal.limit} requests, {journal.max_size} bytes) was "
                "reached: older requests drop"
            )

    return listener


def _request_line(request: RecordedRequest) -> str:
    took = (time.monotonic() - request.received_at) * 1000 if request.received_at else 0.0
    line = f"{request.method} {request.path} {request.status} {request.outcome()} {took:.1f}ms"
    return f"{line} ({request.model})" if request.model else line


def _model_down(number: int, *, model: str, status: int) -> Failure:
    """A failure that never runs out: every request for `model` gets `status`."""
    message = f"The model {model!r} is unavailable (pytest-llm-mock serve --fail-model)."
    return Failure(
        number, status, sys.maxsize, None, message, model, origin=f"--fail-model {model}"
    )


def _down_model(spec: str) -> tuple[str, int]:
    """`MODEL` or `MODEL=STATUS`: the model to fail, and with what error status."""
    model, _, code = spec.rpartition("=") if "=" in spec else (spec, "", "503")
    status = int(code) if code.isdigit() else 0
    if not model or not 400 <= status <= 599:
        raise ValueError(f"--fail-model takes MODEL or MODEL=STATUS (400-599), got {spec!r}")
    return model, status


def _rate_limit(spec: str) -> RateLimit:
    """`N` or `N/SECONDS` (a trailing `s` allowed): N requests per window."""
    count, _, window = spec.partition("/")
    try:
        requests = int(count)
        seconds = float(window.removesuffix("s")) if window else 60.0
    except ValueError:
        raise ValueError(f"--rate-limit takes N or N/SECONDS, got {spec!r}") from None
    if requests < 1 or seconds <= 0:
        raise ValueError(f"--rate-limit needs N >= 1 and SECONDS > 0, got {spec!r}")
    return RateLimit(requests, seconds)


def _recorder(upstream: str, path: Path) -> Recorder:
    if path == default_collection_path():
        raise ValueError("--record needs a collection file of yours to write into")
    return Recorder(upstream, path)
