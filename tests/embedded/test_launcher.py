"""`make run`'s launcher as a user runs it: one process group, stopped by Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from embedded.temporal_server import free_port


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_stops_api_worker_and_temporal(tmp_path: Path) -> None:
    ports = {"api": free_port(), "temporal": free_port(), "ui": free_port()}
    env = os.environ | {
        "API_PORT": str(ports["api"]),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{ports['temporal']}",
        "TEMPORAL_UI_PORT": str(ports["ui"]),
        "TASK_QUEUE": "launcher-test",
    }
    for name in ("DATABASE_URL", "JWT_SECRET", "ENVIRONMENT"):
        env.pop(name, None)
    # A new session stands for the terminal: Ctrl-C reaches the whole group.
    launcher = subprocess.Popen(
        [sys.executable, "-m", "embedded"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        api = f"http://127.0.0.1:{ports['api']}"
        wait_until(lambda: answers(f"{api}/health"), 60, "the API did not answer")
        wait_until(
            lambda: answers(f"http://127.0.0.1:{ports['ui']}"), 30, "no Temporal UI"
        )
        registered = httpx.post(
            f"{api}/api/auth/register",
            json={"email": "ada@example.com", "password": "engine-42", "name": "Ada"},
        )
        assert registered.status_code == 201

        os.killpg(launcher.pid, signal.SIGINT)
        output, _ = launcher.communicate(timeout=90)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)

    assert launcher.returncode == 0, output.decode(errors="replace")
    assert b"stopped API, worker and Temporal" in output
    for port in ports.values():
        assert not listening(port), f"port {port} still open"
    # The embedded default keeps its state beside the working directory.
    assert (tmp_path / ".data" / "auterity.db").exists()
    assert (tmp_path / ".data" / "temporal.db").exists()
