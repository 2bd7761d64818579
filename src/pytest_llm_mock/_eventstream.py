"""AWS event-stream framing (`application/vnd.amazon.eventstream`), the binary messages AWS
streams its answers in and botocore's `EventStreamBuffer` reads (providers.md, section 3).

A message is `total length:u32 | headers length:u32 | CRC32 of those 8 bytes:u32 | headers |
payload | CRC32 of everything before:u32`, big-endian; each header here is a string header:
`name length:u8 | name | 7:u8 | value length:u16 | value`.

PYTEST_DONT_REWRITE: pytest would rewrite this plugin's asserts on every run.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7  # the header value type of a UTF-8 string


def message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message: `headers` (all strings) and `payload`, with both CRCs."""
    encoded = b"".join(_header(name, value) for name, value in headers)
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    framed = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return framed + struct.pack(">I", zlib.crc32(framed))


def event(kind: str, payload: bytes) -> bytes:
    """An event message of type `kind` (`contentBlockDelta`, `chunk`, ...) with a JSON payload."""
    return message(
        ((":event-type", kind), (":content-type", "application/json"), (":message-type", "event")),
        payload,
    )


def exception(kind: str, payload: bytes) -> bytes:
    """An exception message (`throttlingException`, ...): the client raises it mid-stream."""
    return message(
        (
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ),
        payload,
    )


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return (
        struct.pack(">B", len(name_bytes))
        + name_bytes
        + struct.pack(">BH", _STRING, len(value_bytes))
        + value_bytes
    )
