"""The `coopbot` command: run, chat, db upgrade (see interfaces.md).

Exit status 0 on success and 1 on a user error, with one line saying why; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot import logs
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger("coopbot")

# interfaces.md; db.importers.KINDS holds the same names (not imported here to keep start-up light).
IMPORT_KINDS = ("cooperatives", "programs", "applications", "value-chains")


class UserError(Exception):
    """Something the operator can fix; printed as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # interfaces.md: a bad option is a user error, exit status 1, one line.
        self.exit(1, f"{self.prog}: {message} (see {self.prog.split()[0]} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="coopbot", description="Coopbot: the cooperative members' bot for Telegram and Bale."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (long polling, or webhook mode when configured)")
    chat = commands.add_parser(
        "chat", help="talk to the bot in this terminal; no token, no network"
    )
    chat.add_argument("--user-id", type=int, default=1, help="the member's user id (default 1)")
    chat.add_argument("--admin", action="store_true", help="hold the staff role")
    chat.add_argument(
        "--locale", choices=["fa", "en"], default=None, help="the language the member's app reports"
    )
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser("upgrade", help="bring the schema to the newest migration")
    backup = db_commands.add_parser(
        "backup", help="a consistent copy of the embedded SQLite database, safe while the bot runs"
    )
    backup.add_argument("path", metavar="PATH", type=Path)
    imports = commands.add_parser("import", help="import a staff spreadsheet (.csv or .xlsx)")
    imports.add_argument("kind", choices=IMPORT_KINDS, metavar="KIND", help=", ".join(IMPORT_KINDS))
    imports.add_argument("file", metavar="FILE", type=Path)
    imports.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    cast = commands.add_parser("broadcast", help="queue an announcement, as staff would in the bot")
    cast.add_argument("--text", required=True, help="the announcement (at most 4,096 characters)")
    cast.add_argument(
        "--chain",
        action="append",
        default=[],
        metavar="CODE",
        help="only members subscribed to this value chain (repeatable)",
    )
    cast.add_argument(
        "--province",
        action="append",
        default=[],
        metavar="IR-NN",
        help="only members subscribed to this province (repeatable)",
    )
    demo = commands.add_parser("seed-demo", help="fill an empty database with labelled demo data")
    demo.add_argument("--cooperatives", type=int, default=2000, metavar="N")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.INFO if args.command == "run" else logging.WARNING
    logs.configure(level)
    try:
        settings = load_settings()
        secrets = [s.get_secret_value() for s in (settings.token, settings.webhook_secret) if s]
        logs.configure(level, tuple(secrets))
        return _dispatch(args, settings)
    except (SettingsError, UserError) as exc:
        print(f"coopbot: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "chat":
        from bot.chat import run_chat

        return run_chat(settings, args.user_id, args.locale, args.admin)
    if args.command == "db" and args.db_command == "backup":
        return _backup(settings, args.path)
    if args.command == "db":
        asyncio.run(_upgrade(settings))
        print("coopbot: the database schema is up to date")
        return 0
    if args.command == "run":
        return _run(settings)
    if args.command == "import":
        if not args.file.is_file():
            raise UserError(f"{args.file}: no such file")
        return asyncio.run(_import(settings, args.kind, args.file, args.dry_run))
    if args.command == "broadcast":
        return asyncio.run(_broadcast(settings, args.text, set(args.chain), set(args.province)))
    if args.command == "seed-demo":
        return asyncio.run(_seed_demo(settings, args.cooperatives))
    raise UserError(f"unknown command {args.command}")


async def _upgrade(settings: Settings) -> None:
    from db.engine import create_engine, upgrade

    _check_sqlite_folder(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    except Exception as exc:  # an unreachable server or a bad URL is the operator's to fix
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UserError(f"cannot migrate {_safe_url(settings.database_url)}: {reason}") from None
    finally:
        await engine.dispose()


async def _import(settings: Settings, kind: str, path: Path, dry_run: bool) -> int:
    from db.engine import create_engine
    from db.importers import ImportFileError
    from usecases.importing import format_outcome, import_spreadsheet

    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        outcome = await import_spreadsheet(
            engine, kind, path, dry_run=dry_run, progress=_progress_bar
        )
    except ImportFileError as exc:
        raise UserError(f"{path}: {exc.text(number=_number)}") from None
    finally:
        await engine.dispose()
    print(format_outcome(outcome, number=_number))
    return 0 if outcome.report.ok else 1


def _number(value: int) -> str:
    return f"{value:,}"


async def _broadcast(settings: Settings, text: str, chains: set[str], provinces: set[str]) -> int:
    """`coopbot broadcast`: the same outbox rows the bot's /broadcast writes; the running bot of
    this platform sends them."""
    from db import audit, outbox
    from db.chains import all_chains
    from db.engine import create_engine
    from db.reference import reference
    from db.text import normalize

    text = text.strip()
    if not text or len(text) > 4096:
        raise UserError("--text must hold 1 to 4,096 characters")
    unknown = provinces - set(reference().provinces)
    if unknown:
        raise UserError(f"unknown province {sorted(unknown)[0]}; write its code, e.g. IR-08")
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        known = {chain.code for chain in await all_chains(engine)}
        chains = {normalize(code) for code in chains}
        if chains - known:
            raise UserError(
                f"unknown value chain {sorted(chains - known)[0]}; the chains are: "
                + ", ".join(sorted(known))
            )
        draft = await outbox.draft(engine, settings.platform, 0, text)
        await outbox.set_audience(engine, draft.id, chains, provinces)
        queued = await outbox.queue_announcement(engine, draft.id)
        if queued == 0:
            await outbox.finish_announcement(engine, draft.id)
        await audit.record(
            engine,
            settings.platform,
            None,
            "broadcast",
            f"announcement {draft.id} to {queued} members from the shell; "
            f"chains={','.join(sorted(chains)) or 'all'} provinces={','.join(sorted(provinces)) or 'all'}",
        )
    finally:
        await engine.dispose()
    if queued == 0:
        print("nobody matches that audience; nothing was queued")
        return 0
    print(
        f"announcement {draft.id} queued for {queued:,} members on {settings.platform}; "
        f"the running bot (coopbot run) sends it at {settings.broadcast_rate:g} a second"
    )
    return 0


async def _seed_demo(settings: Settings, count: int) -> int:
    from db.demo import DemoError, seed_demo
    from db.engine import create_engine

    if count < 0:
        raise UserError("--cooperatives must be 0 or more")
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        summary = await seed_demo(engine, cooperatives=count, progress=_progress_bar)
    except DemoError as exc:
        raise UserError(str(exc)) from None
    finally:
        await engine.dispose()
    print(summary.describe())
    return 0


def _backup(settings: Settings, target: Path) -> int:
    """SQLite's online backup API: a consistent copy page by page, while the bot keeps writing."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise UserError(
            "db backup copies the embedded SQLite database; for PostgreSQL use pg_dump "
            "(see the README)"
        )
    source = Path(url.database or "")
    if not source.is_file():
        raise UserError(f"no database at {source}")
    if target.exists():
        raise UserError(f"{target} exists; give a new file name")
    if not target.parent.is_dir():
        raise UserError(f"the folder {target.parent} does not exist")
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(target) as dst:
        src.backup(dst, pages=1024)
    size = target.stat().st_size
    print(f"coopbot: backed up {source} to {target} ({size:,} bytes)")
    return 0


def _progress_bar(done: int, total: int) -> None:
    """A bar on the terminal for long work; nothing when output goes to a file or a CI log."""
    if not sys.stderr.isatty() or total < 1000:
        return
    filled = 30 * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}", end=end, file=sys.stderr)


def _check_sqlite_folder(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise UserError("COOPBOT_DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database or "").resolve().parent
        if not folder.is_dir():
            raise UserError(f"cannot create the database: the folder {folder} does not exist")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "COOPBOT_DATABASE_URL"


def _run(settings: Settings) -> int:
    from telegram.error import BadRequest, InvalidToken, NetworkError

    from bot.app import build_application
    from bot.webhook import webhook_paths
    from db.engine import create_engine

    token = settings.require_token()
    if settings.webhook_url:
        webhook_paths(settings)  # a bad webhook setting stops us before anything starts
    asyncio.run(_upgrade(settings))
    mode = "webhook" if settings.webhook_url else "long polling"
    log.info("coopbot starting on %s (%s)", settings.platform, mode)
    delay = 1.0
    try:
        while True:
            # A fresh application each try: one whose start failed cannot be started again.
            application = build_application(
                settings, create_engine(settings.database_url), token=token
            )
            try:
                _serve(application, settings)
                return 0
            except InvalidToken:
                raise UserError("the Bot API refused COOPBOT_TOKEN; check the token") from None
            except BadRequest as exc:
                # Reached, and refused (a webhook URL it will not call): trying again cannot help.
                raise UserError(f"the Bot API refused to start the bot: {exc.message}") from None
            except NetworkError as exc:
                # The Bot API unreachable when we start (once running, PTB retries by itself
                # and on_error logs each failure).
                log.warning("Bot API unreachable at start (%s); trying again in %.0f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 60.0)
    except KeyboardInterrupt:
        # Ctrl-C before the bot ever ran (it stops cleanly on its own once running).
        log.info("stopped before the Bot API answered")
        return 0


def _serve(application: Application, settings: Settings) -> None:
    """One try at running the bot; a NetworkError means the Bot API did not answer at start."""
    from bot.webhook import ALLOWED_UPDATES, serve

    if settings.webhook_url:
        asyncio.run(serve(application, settings))
        return
    # run_polling can retry its start by itself (bootstrap_retries), but PTB logs each failed
    # try at DEBUG, without the reason or the next delay, on the logger the rest of telegram.ext
    # shares, and has no hook for it: the operator saw nothing while the Bot API was unreachable.
    # So the first call (getMe, in initialize) is made here, on the loop run_polling then uses,
    # and its NetworkError reaches _run's retry loop as in webhook mode; run_polling finds the
    # application initialized and goes on.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(application.initialize())
        # PTB stops on SIGINT/SIGTERM: it takes no new updates, finishes the handlers in flight,
        # writes persistence and runs post_stop (the sender hands back its batch).
        application.run_polling(
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
            bootstrap_retries=-1,  # deleteWebhook, once getMe has answered: keep trying
        )
    finally:
        loop.close()  # (run_polling has closed it already unless initialize failed)


if __name__ == "__main__":
    sys.exit(main())
