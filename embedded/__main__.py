"""`make run`: the whole service on one machine, with nothing to install but Python.

Applies the database migrations, starts a Temporal dev server (state in `.data/`, Web UI
on
port 8233), one worker and the API, prints where to find them, and stops all three on
Ctrl-C or SIGTERM.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from api.db.migrate import upgrade
from api.settings import DATA_DIR, get_settings
from embedded.temporal_server import DevServer, start_dev_server

API_HOST = os.environ.get("API_HOST", "127.0.0.1")
API_PORT = int(os.environ.get("API_PORT", "8000"))
UI_PORT = int(os.environ.get("TEMPORAL_UI_PORT", "8233"))


def main() -> int:
    stop_requested = _catch_stop_signals()
    settings = get_settings()
    upgrade(settings.database_url)

    temporal = _start_temporal(settings.temporal_address)
    children = [
        _spawn([sys.executable, "-m", "worker"]),
        _spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.app:app_factory",
                "--host",
                API_HOST,
                "--port",
                str(API_PORT),
            ]
        ),
    ]
    _print_urls(temporal)

    while not stop_requested() and all(child.poll() is None for child in children):
        time.sleep(0.2)

    exit_code = 0 if stop_requested() else 1
    _stop_all(children, temporal)
    return exit_code


def _catch_stop_signals() -> Callable[[], bool]:
    """From the first moment, Ctrl-C and SIGTERM ask for an orderly stop."""
    requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal requested
        requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return lambda: requested


def _start_temporal(address: str) -> DevServer | None:
    if os.environ.get("EMBEDDED_TEMPORAL", "1") == "0":
        return None
    port = int(address.rsplit(":", 1)[1])
    return start_dev_server(
        port=port,
        ui_port=UI_PORT,
        db_file=DATA_DIR / "temporal.db",
        log_file=DATA_DIR / "temporal.log",
    )


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # Each child ignores the terminal's Ctrl-C; this process stops them in order
    # instead.
    return subprocess.Popen(args, cwd=Path.cwd(), start_new_session=True)


def _print_urls(temporal: DevServer | None) -> None:
    api = f"http://{API_HOST}:{API_PORT}"
    print(f"\n  API:          {api}\n  API docs:     {api}/docs", flush=True)
    if temporal is not None:
        print(f"  Temporal UI:  {temporal.ui_url}\n  Temporal:     {temporal.address}")
    print("  Ctrl-C stops everything.\n", flush=True)


def _stop_all(
    children: list[subprocess.Popen[bytes]], temporal: DevServer | None
) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in reversed(children):
        try:
            child.wait(timeout=40)
        except subprocess.TimeoutExpired:
            child.kill()
    if temporal is not None:
        temporal.stop()
    print("stopped API, worker and Temporal", flush=True)


if __name__ == "__main__":
    sys.exit(main())
