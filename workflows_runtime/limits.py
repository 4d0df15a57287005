"""Limits of the definition language; each is refused with an error naming it."""

import json

MAX_NODES = 500
MAX_DEFINITION_BYTES = 256 * 1024
MAX_INPUT_BYTES = 256 * 1024
MAX_OUTPUT_BYTES = 256 * 1024
MAX_FOREACH_ITEMS = 1000
# The longest any duration setting may be (timeouts, delays, retry intervals): ten
# years. Past it a timer no longer fits Temporal's duration type, and no real wait
# is that long.
MAX_DURATION_SECONDS = 10 * 365 * 24 * 3600
# Children of one `foreach` running at once; more would flood the task queue.
MAX_FOREACH_CONCURRENCY = 100


def json_size(value: object) -> int:
    """Bytes of `value` as compact UTF-8 JSON; ValueError or TypeError if not JSON."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode())


def kilobytes(size: int) -> str:
    return f"{size // 1024} KB"
