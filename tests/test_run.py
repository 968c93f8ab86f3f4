"""`coopbot run` as an operator starts it: a real process, its log read from standard error."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.test_webhook import free_port

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123456:UNREACHABLE-TOKEN"


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], wanted: str, count: int) -> list[str]:
    """The log lines until `count` of them hold `wanted` (at most a generous minute, so a bot
    that says nothing fails the test instead of hanging it)."""
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if sum(wanted in seen for seen in lines) >= count:
                break
    finally:
        watchdog.cancel()
    return lines


def unreachable(mode: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a bot whose Bot API refuses every connection."""
    closed = free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPBOT_")}
    env |= {
        "COOPBOT_TOKEN": TOKEN,
        "COOPBOT_BOT_API_URL": f"http://127.0.0.1:{closed}/bot",
        "COOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'coopbot.db'}",
        "PYTHONPATH": str(REPO),
    }
    if mode == "webhook":
        env |= {
            "COOPBOT_WEBHOOK_URL": "https://bot.example.org/hook",
            "COOPBOT_WEBHOOK_SECRET": "s3cret",
            "COOPBOT_LISTEN": "127.0.0.1",
            "COOPBOT_PORT": str(free_port()),
        }
    return env


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_an_unreachable_bot_api_is_logged_at_once_and_at_each_retry(
    mode: str, tmp_path: Path
) -> None:
    process = start(unreachable(mode, tmp_path), tmp_path)
    try:
        lines = read_until(process, "Bot API unreachable", count=3)
    finally:
        process.kill()
        process.wait(10)
    warnings = [line for line in lines if "Bot API unreachable" in line]
    assert len(warnings) == 3, "\n".join(lines)
    delays = []
    for warning in warnings:
        assert " WARNING coopbot: Bot API unreachable at start (" in warning
        assert "; trying again in " in warning
        delays.append(warning.rsplit("trying again in ", 1)[1])
    assert delays == ["1 s", "2 s", "4 s"]
    assert not [line for line in lines if " ERROR " in line or "Traceback" in line]
    assert TOKEN not in "\n".join(lines) and "UNREACHABLE-TOKEN" not in "\n".join(lines)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_ctrl_c_while_the_bot_api_is_unreachable_stops_without_a_traceback(
    mode: str, tmp_path: Path
) -> None:
    process = start(unreachable(mode, tmp_path), tmp_path)
    try:
        lines = read_until(process, "Bot API unreachable", count=1)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)  # (a bot that ignores Ctrl-C fails, not hangs)
        lines += rest.splitlines()
        assert process.returncode == 0, "\n".join(lines)
    finally:
        process.kill()
        process.wait(10)
    assert "Traceback" not in "\n".join(lines)
    assert lines[-1].endswith(" stopped before the Bot API answered")


class RefusesWebhooks(http.server.BaseHTTPRequestHandler):
    """A Bot API that answers getMe and refuses setWebhook, as for a URL it will not call."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/getMe"):
            bot = {"id": 1, "is_bot": True, "first_name": "Bot", "username": "b"}
            status, body = 200, {"ok": True, "result": bot}
        else:
            refusal = "Bad Request: bad webhook: HTTPS url must be provided"
            status, body = 400, {"ok": False, "error_code": 400, "description": refusal}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_a_webhook_the_platform_refuses_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusesWebhooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = unreachable("webhook", tmp_path)
    env["COOPBOT_BOT_API_URL"] = f"http://127.0.0.1:{server.server_address[1]}/bot"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "coopbot: the Bot API refused to start the bot: Bad webhook: https url must be provided"
    )
    assert "Traceback" not in done.stderr
