"""An in-process Bot API double, and a simulated member who talks to the bot through it.

`coopbot chat` and the tests share both: the real Application and handlers run unchanged, with this
`BaseRequest` underneath instead of HTTP (python-telegram-bot's own seam for swapping the network).
Every call the bot makes is recorded and answered the way the Bot API answers it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "Coopbot",
    "username": "coopbot_offline_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
OFFLINE_TOKEN = "777000111:OFFLINE"

SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "copyMessage",
        "sendMediaGroup",
    }
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})


@dataclass
class ApiCall:
    """One Bot API call the bot made: the method and its parameters as they went over the wire."""

    method: str
    params: dict[str, Any]
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        return json.loads(markup) if isinstance(markup, str) else markup

    @property
    def buttons(self) -> list[list[str]]:
        """The button labels, row by row: inline buttons, or else a reply keyboard's."""
        markup = self.markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [[button["text"] for button in row] for row in rows]

    @property
    def inline_data(self) -> list[list[str]]:
        rows = (self.markup or {}).get("inline_keyboard") or []
        return [[button.get("callback_data", "") for button in row] for row in rows]

    @property
    def is_reply_keyboard(self) -> bool:
        return "keyboard" in (self.markup or {})


class BotApiError(Exception):
    """Raised by an interceptor to answer a call with a Bot API error (status, description)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


@dataclass
class OfflineBotApi(BaseRequest):
    """The Bot API, in memory. `interceptor` may raise BotApiError to simulate 429s, 403s, 5xx."""

    calls: list[ApiCall] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    interceptor: Callable[[ApiCall], None] | None = None
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)
    _answered: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self._messages.get((chat_id, message_id))

    def messages_in(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in one chat as they stand now (edits applied), oldest first."""
        found = [m for (chat, _), m in self._messages.items() if chat == chat_id]
        return sorted(found, key=lambda m: m["message_id"])

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            content = self.files.get(url.rsplit("/", 1)[-1])
            return (200, content) if content is not None else (404, b"")
        call = ApiCall(url.rsplit("/", 1)[-1], request_data.parameters if request_data else {})
        self.calls.append(call)
        try:
            if self.interceptor is not None:
                self.interceptor(call)
            call.result = self._answer(call)
        except BotApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            call.result = body
            return error.status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    def _answer(self, call: ApiCall) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if call.method in SEND_METHODS:
            return self._store_new(call)
        if call.method in EDIT_METHODS:
            return self._edit(call)
        if call.method == "getFile":
            file_id = str(call.params["file_id"])
            if file_id not in self.files:
                raise BotApiError(400, "Bad Request: invalid file_id")
            return {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(self.files[file_id]),
                "file_path": file_id,
            }
        if call.method == "getUpdates":
            return []
        if call.method == "answerCallbackQuery":
            # A button press is answered once; the Bot API refuses a second answer.
            query_id = str(call.params["callback_query_id"])
            if query_id in self._answered:
                raise BotApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is "
                    "invalid",
                )
            self._answered.add(query_id)
        if call.method == "deleteMessage":
            key = (int(call.params["chat_id"]), int(call.params["message_id"]))
            if self._messages.pop(key, None) is None:
                raise BotApiError(400, "Bad Request: message to delete not found")
        return True

    def _store_new(self, call: ApiCall) -> dict[str, Any]:
        chat_id = int(call.params["chat_id"])
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
        }
        params = call.params
        for key in ("text", "caption"):
            if key in params:
                message[key] = params[key]
        if call.method in ("sendLocation", "sendVenue"):
            message["location"] = {"latitude": params["latitude"], "longitude": params["longitude"]}
        if call.method == "sendVenue":
            message["venue"] = {
                "location": message["location"],
                "title": params["title"],
                "address": params["address"],
            }
        markup = call.markup
        if markup and "inline_keyboard" in markup:
            # Like the Bot API, a message carries only its inline keyboard, not a reply keyboard.
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _edit(self, call: ApiCall) -> dict[str, Any]:
        key = (int(call.params.get("chat_id", 0)), int(call.params.get("message_id", 0)))
        message = self._messages.get(key)
        if message is None:
            raise BotApiError(400, "Bad Request: message to edit not found")
        edited = dict(message)
        if "text" in call.params:
            edited["text"] = call.params["text"]
        if "caption" in call.params:
            edited["caption"] = call.params["caption"]
        markup = call.markup
        if markup and "inline_keyboard" in markup:
            edited["reply_markup"] = markup
        else:
            edited.pop("reply_markup", None)
        if edited == message:
            raise BotApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        edited["edit_date"] = int(time.time())
        self._messages[key] = edited
        return edited


class Member:
    """A simulated member in a private chat: sends updates, presses buttons, reads what came back."""

    _update_ids = itertools.count(1)
    _query_ids = itertools.count(1)

    def __init__(
        self,
        application: Application,
        api: OfflineBotApi,
        user_id: int,
        first_name: str = "Maryam",
        language_code: str | None = "fa",
    ) -> None:
        self.application = application
        self.api = api
        self.user_id = self.chat_id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            self.user["language_code"] = language_code
        self._queries: set[str] = set()
        self.replies: list[ApiCall] = []

    # --- reading ----------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every call the bot made towards this member, oldest first."""
        return [call for call in self.api.calls if self._mine(call)]

    def _mine(self, call: ApiCall) -> bool:
        if call.method == "answerCallbackQuery":
            return str(call.params.get("callback_query_id")) in self._queries
        return call.chat_id == self.chat_id

    @property
    def last(self) -> ApiCall:
        """The last call answering the last thing the member did."""
        if not self.replies:
            raise AssertionError("the bot made no call in answer")
        return self.replies[-1]

    @property
    def messages(self) -> list[ApiCall]:
        """The replies that put text on the member's screen (sent or edited), without answers."""
        return [call for call in self.replies if call.method != "answerCallbackQuery"]

    @property
    def texts(self) -> list[str]:
        return [call.text for call in self.messages if call.text is not None]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the member sees now (the last one sent that was not removed)."""
        for call in reversed(self.calls):
            markup = call.markup or {}
            if "keyboard" in markup:
                return call.buttons
            if markup.get("remove_keyboard"):
                return None
        return None

    # --- doing ------------------------------------------------------------------------------

    async def send(self, text: str) -> list[ApiCall]:
        message = self._message(text=text)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._process({"message": message})

    async def share_location(self, latitude: float, longitude: float) -> list[ApiCall]:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._process({"message": self._message(location=location)})

    async def share_contact(self, phone: str, own: bool = True) -> list[ApiCall]:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": self.user["first_name"]}
        if own:
            contact["user_id"] = self.user_id
        return await self._process({"message": self._message(contact=contact)})

    async def send_sticker(self) -> list[ApiCall]:
        sticker = {
            "file_id": "sticker1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._process({"message": self._message(sticker=sticker)})

    async def send_photo(self, caption: str | None = None) -> list[ApiCall]:
        photo = [{"file_id": "photo1", "file_unique_id": "p1", "width": 90, "height": 90}]
        extra = {"caption": caption} if caption else {}
        return await self._process({"message": self._message(photo=photo, **extra)})

    async def send_voice(self) -> list[ApiCall]:
        voice = {"file_id": "voice1", "file_unique_id": "v1", "duration": 3}
        return await self._process({"message": self._message(voice=voice)})

    async def send_document(
        self,
        file_name: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str = "text/csv",
    ) -> list[ApiCall]:
        file_id = f"doc{len(self.api.files) + 1}"
        self.api.files[file_id] = content
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        extra = {"caption": caption} if caption else {}
        return await self._process({"message": self._message(document=document, **extra)})

    async def send_in(self, chat: dict[str, Any], text: str) -> list[ApiCall]:
        """The member writes in another chat the bot is in (a group or supergroup): the calls the
        bot made towards that chat in answer."""
        message = {**self._message(text=text), "chat": chat}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._process({"message": message}, chat_id=chat["id"])

    async def press_in(self, chat: dict[str, Any], data: str) -> list[ApiCall]:
        """The member presses a button on a message in another chat (a group)."""
        message = {**self._message(text="…"), "chat": chat, "from": BOT_USER}
        query_id = str(next(self._query_ids))
        self._queries.add(query_id)
        query = {
            "id": query_id,
            "from": self.user,
            "chat_instance": str(chat["id"]),
            "data": data,
            "message": message,
        }
        return await self._process({"callback_query": query}, chat_id=chat["id"])

    async def post_in_channel(self, chat: dict[str, Any], text: str) -> list[ApiCall]:
        """A post in a channel the bot is in (no sender: channel posts have none)."""
        post = {**self._message(text=text), "chat": chat}
        del post["from"]
        return await self._process({"channel_post": post}, chat_id=chat["id"])

    def buttons(self) -> list[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
        """Every button the member can press now, newest message first:
        (label, the message an inline button sits on or None for the reply keyboard, button)."""
        found: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        for message in reversed(self.api.messages_in(self.chat_id)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                found.extend((button["text"], message, button) for button in row)
        for row in self.reply_keyboard_markup():
            found.extend((button["text"], None, button) for button in row)
        return found

    def reply_keyboard_markup(self) -> list[list[dict[str, Any]]]:
        for call in reversed(self.calls):
            markup = call.markup or {}
            if "keyboard" in markup:
                return [
                    [b if isinstance(b, dict) else {"text": b} for b in row]
                    for row in markup["keyboard"]
                ]
            if markup.get("remove_keyboard"):
                return []
        return []

    async def press(self, label: str) -> list[ApiCall]:
        """Press the newest button with this label: an inline button, else a reply-keyboard one."""
        for text, message, button in self.buttons():
            if text != label:
                continue
            if message is not None:
                return await self.press_data(button.get("callback_data", ""), message)
            if button.get("request_location") or button.get("request_contact"):
                raise AssertionError(f"{label!r} shares a location or contact: use share_*()")
            return await self.send(label)
        labels = [text for text, _, _ in self.buttons()]
        raise AssertionError(f"no button {label!r}; the member sees {labels}")

    async def press_data(self, data: str, message: dict[str, Any] | None = None) -> list[ApiCall]:
        """Press a button with this callback data, on `message` or on a message long gone."""
        query_id = str(next(self._query_ids))
        self._queries.add(query_id)
        if message is None:
            message = {
                "message_id": 999_999,
                "date": int(time.time()) - 7 * 86400,
                "chat": {"id": self.chat_id, "type": "private"},
                "from": BOT_USER,
                "text": "…",
            }
        query = {
            "id": query_id,
            "from": self.user,
            "chat_instance": str(self.chat_id),
            "data": data,
            "message": message,
        }
        return await self._process({"callback_query": query})

    # --- plumbing ---------------------------------------------------------------------------

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": self.api.next_message_id(self.chat_id),
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private", "first_name": self.user["first_name"]},
            "from": self.user,
            **content,
        }

    async def _process(self, payload: dict[str, Any], chat_id: int | None = None) -> list[ApiCall]:
        """Hand the update to the bot; the calls it made in answer towards `chat_id` (the
        member's own chat unless another is named), and the answers to their presses."""
        before = len(self.api.calls)
        update = Update.de_json(
            {"update_id": next(self._update_ids), **payload}, self.application.bot
        )
        await self.hand_over(update)
        self.replies = [
            call
            for call in self.api.calls[before:]
            if (self._mine(call) if chat_id is None else call.chat_id == chat_id)
            or (call.method == "answerCallbackQuery" and self._mine(call))
        ]
        return self.replies

    async def hand_over(self, update: Update) -> None:
        """The bot handles the update now, alone (a test may hold it back for a crowd instead)."""
        await self.application.process_update(update)
