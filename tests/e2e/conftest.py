"""End-to-end: `coopbot run` as a real process, long-polling an independent Bot API emulator
(telegram-test-api, from the shared tools) over HTTP on 127.0.0.1, and members simulated over
that emulator's client API. Skipped when the emulator's Node packages are not installed
(`.ci/run` installs them; see the README)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456:E2E-TEST"
STAFF_ID = 9001
BOT_ID = 666  # the emulator's bot user


def emulator_dir() -> Path | None:
    configured = os.environ.get("COOPBOT_EMULATOR_DIR")
    folder = Path(configured) if configured else REPO.parent / "shared/tools/bot-api-emulator"
    installed = (folder / "node_modules" / "telegram-test-api").is_dir()
    return folder if installed and shutil.which("node") else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class Emulator:
    """The Bot API emulator process; it can be killed and started again on the same port.
    `options` are its own (`--bale`, `--rate N`, ...: see its README)."""

    def __init__(self, folder: Path, log: Path, *options: str) -> None:
        self.folder, self.log, self.port = folder, log, free_port()
        self.options = options
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # It forgets messages after STORE_TIMEOUT seconds (60 by default): longer than any test.
        env = {**os.environ, "STORE_TIMEOUT": "3600"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["node", "server.js", str(self.port), *self.options],
                cwd=self.folder,
                stdout=log,
                stderr=log,
                env=env,
            )
        wait_for_port(self.port)

    def refused(self) -> int:
        """How many sends its --rate limit refused so far."""
        return int(httpx.post(f"{self.url}/getRefused").json()["result"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    folder = emulator_dir()
    if folder is None:
        pytest.skip("the Bot API emulator is not installed (node and its npm packages)")
    running = Emulator(folder, tmp_path_factory.mktemp("emulator") / "emulator.log")
    running.start()
    yield running
    running.stop()


def coopbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
        check=True,
    )


def bot_env(emulator: Emulator, home: Path, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "COOPBOT_TOKEN": TOKEN,
        "COOPBOT_BOT_API_URL": f"{emulator.url}/bot",
        "COOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'coopbot.db'}",
        "COOPBOT_ADMIN_IDS": str(STAFF_ID),
        "PYTHONPATH": str(REPO),
        **settings,
    }


class BotProcess:
    def __init__(
        self, env: dict[str, str], cwd: Path, started: str = "Application started"
    ) -> None:
        self.env, self.cwd, self.started = env, cwd, started.encode()
        self.log = cwd / "bot.log"
        self.database = cwd / "coopbot.db"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it says it started (again, after a restart)."""
        starts = self._log().count(self.started)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=log,
            )
        end = time.monotonic() + 60
        while self._log().count(self.started) == starts:
            if self.process.poll() is not None or time.monotonic() > end:
                raise RuntimeError("coopbot run did not start:\n" + self.log.read_text()[-3000:])
            time.sleep(0.1)

    def _log(self) -> bytes:
        return self.log.read_bytes() if self.log.exists() else b""

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def kill(self) -> None:
        """kill -9: no clean stop, nothing handed back."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)


@pytest.fixture(scope="session")
def bot(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """`coopbot run` on a fresh embedded database filled by `coopbot seed-demo`."""
    home = tmp_path_factory.mktemp("bot")
    env = bot_env(emulator, home)
    coopbot("seed-demo", "--cooperatives", "300", env=env, cwd=home)
    process = BotProcess(env, home)
    process.start()
    yield process
    process.stop()


class RemoteMember:
    """A member talking to the running bot through the emulator's client API."""

    def __init__(
        self, emulator: Emulator, user_id: int, language_code: str = "fa", token: str = TOKEN
    ) -> None:
        self.api = httpx.Client(base_url=emulator.url, timeout=30)
        self.token = token
        self.user = {
            "id": user_id,
            "is_bot": False,
            "first_name": "Member",
            "language_code": language_code,
        }
        self.chat = {"id": user_id, "type": "private", "first_name": "Member"}
        self.seen: list[dict[str, Any]] = []

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        reply = self.api.post(path, json=body)
        reply.raise_for_status()
        return reply.json()["result"]

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "botToken": self.token,
            "from": self.user,
            "chat": self.chat,
            "date": int(time.time()),
            **content,
        }

    def send(self, text: str) -> None:
        if text.startswith("/"):
            length = len(text.split()[0])
            entities = [{"type": "bot_command", "offset": 0, "length": length}]
            self._post("/sendCommand", self._message(text=text, entities=entities))
        else:
            self._post("/sendMessage", self._message(text=text))

    def share_location(self, latitude: float, longitude: float) -> None:
        location = {"latitude": latitude, "longitude": longitude}
        self._post("/sendMessage", self._message(location=location))

    def share_contact(self, phone: str) -> None:
        contact = {"phone_number": phone, "first_name": "Member", "user_id": self.user["id"]}
        self._post("/sendMessage", self._message(contact=contact))

    def history(self) -> list[dict[str, Any]]:
        """The bot's messages to this member as they stand now (edits applied), oldest first."""
        records = self._post("/getUpdatesHistory", {"token": self.token})
        return [
            r
            for r in records
            if "message" in r and str(r["message"].get("chat_id")) == str(self.user["id"])
        ]

    def wait_for(self, text_part: str, seconds: float = 20) -> dict[str, Any]:
        """The newest bot message (sent or edited) whose text holds `text_part`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for record in reversed(self.history()):
                if text_part in (record["message"].get("text") or ""):
                    return record
            time.sleep(0.1)
        texts = [r["message"].get("text") for r in self.history()][-5:]
        raise AssertionError(f"no message with {text_part!r}; the last ones were {texts}")

    def wait_for_method(self, method: str, seconds: float = 20) -> dict[str, Any]:
        """The newest bot message sent with this Bot API method (sendVenue, ...)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for record in reversed(self.history()):
                if record["message"].get("_method") == method:
                    return record
            time.sleep(0.1)
        raise AssertionError(f"no {method} arrived")

    def press(self, label: str) -> None:
        """Press the newest inline button with this label (or, ending in "…", starting so)."""
        for record in reversed(self.history()):
            markup = record["message"].get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label or (
                        label.endswith("…") and button["text"].startswith(label[:-1])
                    ):
                        message = {
                            "message_id": record["messageId"],
                            "date": record["time"] // 1000,
                            "chat": self.chat,
                            "text": record["message"].get("text", ""),
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
                        }
                        self._post(
                            "/sendCallback",
                            {
                                "botToken": self.token,
                                "from": self.user,
                                "data": button["callback_data"],
                                "message": message,
                            },
                        )
                        return
        raise AssertionError(f"no inline button {label!r}")


@pytest.fixture
def member_ids() -> Iterator[int]:
    """A fresh member id per test, so tests sharing the emulator never read each other's chats."""
    yield int(time.time() * 1000) % 1_000_000_000
