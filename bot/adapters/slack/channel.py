"""The Slack channel: a slack-bolt AsyncApp that only translates between Slack and the engine.

Protocol duties, in order of arrival:
* Verify (HTTP mode: bolt checks the signing secret and timestamp; Socket Mode needs none).
* Ack at once: every listener only schedules the work and returns, so Slack gets its 200
  (or Socket Mode ack) in milliseconds; the engine runs afterwards on `bot.chat.workers` (an
  engine process under `deskbot serve`, a worker thread in tests).
* Serialise per conversation, so two quick messages from one person are handled in order.
* Deduplicate: `Inbound.event_id` is the Slack `event_id` (or the click's trigger_id); the
  engine records it in `processed_event` in the same transaction as its effects, so a
  redelivered event never opens a second ticket.
* Deliver without losing anything: a failed reply raises `DeliveryError` (429 carries
  Retry-After) and `deliver_replies` moves it to the outbox; nothing sleeps on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters import downloads
from bot.adapters.slack import inbound as parse
from bot.adapters.slack.blocks import ACTION_PREFIX, Part, answered, render_parts, section
from bot.adapters.slack.home import home_view
from bot.adapters.slack.identity import Identity, LookupFailed
from bot.adapters.slack.mrkdwn import from_markup, to_plain
from bot.base import fitting, logcontext
from bot.base.buttons import read_button
from bot.base.channel import DeliveryError, turn_origin
from bot.base.language import detect
from bot.base.messages import Address, Inbound, InboundFile, Message, Outbound, run_together
from bot.base.outages import START, Unavailable, patiently, until_reachable
from bot.base.yamlfile import ProblemsError
from bot.chat.engine import Engine
from bot.chat.workers import Workers, engine_threads
from bot.desk import Desk
from bot.directory import Person
from notifications.replies import deliver_replies

log = logging.getLogger(__name__)
BOLT_LOG = logging.getLogger("bot.adapters.slack.bolt")


class _SameToken(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins over it on
    every start; they are the same token (config.yaml reads the same variable)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


BOLT_LOG.addFilter(_SameToken())

DEFAULT_API_URL = "https://slack.com/api/"
COMMAND = "/desk"
LOOKUP_RETRIES = 2
# Errors that retrying the same message cannot fix (the outbox dead-letters them).
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "restricted_action",
    }
)
# chat.update on a message that no longer exists: post a fresh one instead.
EDIT_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
ACTION_PREFIX_RE = re.compile("^" + re.escape(ACTION_PREFIX))
# Slack's own payloads are a few kilobytes (a block_actions payload carries the message it
# came from, up to 50 blocks); anything far bigger is not from Slack.
MAX_BODY = 1024 * 1024


def transient(exc: BaseException) -> bool:
    """Whether Slack may answer later: it could not be reached, or answered 5xx or 429
    (a refused token, by contrast, stays refused)."""
    if isinstance(exc, SlackApiError):
        status = int(exc.response.status_code)
        return status >= 500 or status == 429
    return isinstance(exc, aiohttp.ClientError | TimeoutError | OSError | SlackRequestError)


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """Translate a Slack error into the channel-neutral DeliveryError."""
    response = exc.response
    error = str(response.get("error") or "unknown_error")
    if response.status_code == 429:
        headers = response.headers or {}
        raw = headers.get("Retry-After") or headers.get("retry-after") or "1"
        try:
            retry_after = float(raw)
        except ValueError:
            retry_after = 1.0
        return DeliveryError(f"slack rate limit ({error})", retry_after=retry_after)
    return DeliveryError(f"slack error: {error}", permanent=error in PERMANENT)


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class SlackChannel:
    """Slack front end for `deskbot serve`: `start()`, `stop()`, `send()`."""

    name = "slack"

    def __init__(self, desk: Desk, engine: Engine, workers: Workers | None = None) -> None:
        self.desk = desk
        self.engine = engine
        # Given by `deskbot serve` (shared with Telegram, closed by it); else our own threads.
        self._own_workers = workers is None
        self.workers = workers or engine_threads(desk, engine, name="slack-engine")
        self.settings = desk.settings.channels.slack
        self._connect = START.starting(desk.settings.channels.connect_retry)
        self.client = AsyncWebClient(
            token=self.settings.bot_token, base_url=self.settings.api_url or DEFAULT_API_URL
        )
        # Lookups (users.info, conversations.open, views.publish) have no outbox to wait in,
        # so their client waits out a 429 itself, asynchronously; messages never do.
        self.lookups = AsyncWebClient(
            token=self.settings.bot_token,
            base_url=self.settings.api_url or DEFAULT_API_URL,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=LOOKUP_RETRIES),
            ],
        )
        self.identity = Identity(lambda: desk.directory, self.lookups)
        http = self.settings.mode == "http"
        # Checked before bolt reads the body: bolt parses first and verifies after, so an
        # unsigned body it cannot parse became a 500 and a traceback.
        self._verifier = SignatureVerifier(self.settings.signing_secret) if http else None
        self.app = AsyncApp(
            client=self.client,
            signing_secret=self.settings.signing_secret,
            request_verification_enabled=http,
            # Listeners only schedule work, so running them before the response keeps
            # acks fast without bolt's 10 ms ack polling.
            process_before_response=True,
            logger=BOLT_LOG,
        )
        self.app.event("message")(self._on_message)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.command(COMMAND)(self._on_command)
        self.app.action({"type": "block_actions", "action_id": ACTION_PREFIX_RE})(self._on_action)
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks = KeyedLocks()
        # Parts of a long message already posted (and the last one's ref), for a retry midway.
        self._partial: dict[tuple[str, str], tuple[int, str]] = {}
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.url: str | None = None  # the HTTP endpoint once started (port 0 resolved)

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Reach Slack (auth.test, tried again with backoff while Slack cannot be reached),
        learn the bot's workspace, then listen (HTTP) or connect (Socket Mode)."""
        # One pooled HTTP session for every Web API call (slack_sdk opens one per call
        # otherwise); created here because aiohttp sessions belong to the running loop.
        self.client.session = self.lookups.session = aiohttp.ClientSession()
        where = f"Slack ({self.settings.api_url or DEFAULT_API_URL})"
        try:
            auth = await until_reachable(
                self.client.auth_test, what=where, transient=transient, backoff=self._connect
            )
        except SlackApiError as exc:
            raise self._refused("bot_token", exc) from exc
        own = {str(auth.get(key) or "") for key in ("team_id", "enterprise_id")} - {""}
        self.identity.teams = frozenset(self.settings.allowed_teams or own)
        log.info(
            "slack: connected as %s; people matched by email from %s",
            auth.get("user_id"),
            ", ".join(sorted(self.identity.teams)) or "no workspace",
        )
        if self.settings.mode == "http":
            await self._start_http()
        else:
            await self._connect_socket(where)

    def _refused(self, field: str, exc: SlackApiError) -> ProblemsError:
        """Slack refused a token for good: say which setting, without a traceback."""
        error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
        return ProblemsError(
            [
                self.desk.settings.problem(
                    ("channels", "slack", field), f"Slack refused this token ({error})"
                )
            ]
        )

    async def _connect_socket(self, where: str) -> None:
        self._socket = AsyncSocketModeHandler(self.app, app_token=self.settings.app_token)
        client = self._socket.client
        # The WebSocket URL is fetched here, patiently: the Socket Mode client's own loop
        # would retry a refused app token forever, logging a traceback each time.
        try:
            client.wss_uri = await until_reachable(
                client.issue_new_wss_url,
                what=f"{where} Socket Mode",
                transient=transient,
                backoff=self._connect,
            )
        except SlackApiError as exc:
            raise self._refused("app_token", exc) from exc
        await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def _start_http(self) -> None:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(self.settings.http.path, self.handle_http)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http.host, self.settings.http.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{self.settings.http.path}"
        log.info("slack events endpoint listening on %s", self.url)

    async def handle_http(self, request: web.Request) -> web.Response:
        """Events API, interactivity and slash commands all arrive here, signed.

        What is not from Slack is refused before bolt reads it: too big (413), not UTF-8
        (400), without a valid signature (401), or signed but not a JSON object or a form
        (400); one log line, no traceback."""
        if (request.content_length or 0) > MAX_BODY:
            return self._refuse(request, 413, "too big")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(request, 413, "too big")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:  # Slack sends UTF-8 (and signs the text)
            return self._refuse(request, 400, "not UTF-8")
        if not self._signed(body, request):
            return self._refuse(request, 401, "not signed with our signing secret", info=True)
        try:
            readable = isinstance(parse_body(body, request.content_type), dict)
        except ValueError:  # not JSON where JSON belongs
            readable = False
        if not readable:
            return self._refuse(request, 400, "signed, but not a Slack payload")
        bolt_request = AsyncBoltRequest(
            body=body,
            query=request.query_string,
            headers=dict(request.headers),
        )
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    def _signed(self, body: str, request: web.Request) -> bool:
        assert self._verifier is not None, "HTTP mode only"
        try:
            return self._verifier.is_valid_request(body, dict(request.headers))
        except ValueError:  # a timestamp that is not a number
            return False

    @staticmethod
    def _refuse(request: web.Request, status: int, why: str, *, info: bool = False) -> web.Response:
        level = logging.INFO if info else logging.WARNING
        log.log(level, "slack: refused a request from %s (%d): %s", request.remote, status, why)
        error = {400: "bad request", 401: "invalid request", 413: "too big"}[status]
        return web.json_response({"error": error}, status=status)

    async def receiving(self) -> str | None:
        """None while Slack can reach us (HTTP endpoint listening, or the Socket Mode
        connection up); else why not (for /readyz)."""
        if self._runner is not None:
            return None
        if self._socket is not None:
            connected = await self._socket.client.is_connected()
            return None if connected else "Socket Mode connection is down"
        return "not connected yet"

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.idle()
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = self.lookups.session = None
        if self._own_workers:
            await self.workers.close()

    async def idle(self) -> None:
        """Wait until every scheduled piece of work has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack work failed", exc_info=task.exception())

    # ---- listeners: translate, schedule, return ----------------------------------------

    def _name(self, user_id: str) -> str | None:
        person = self.desk.directory.by_slack(user_id)
        return person.name if person else None

    async def _on_message(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        incoming = parse.from_message(body, context.bot_user_id, self._name)
        if incoming is not None:
            self._spawn(self._handle(incoming))

    async def _on_mention(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        incoming = parse.from_mention(body, context.bot_user_id, self._name)
        if incoming is not None:
            self._spawn(self._handle(incoming))

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab") == "home" and event.get("user"):
            self._spawn(self.publish_home(str(event["user"])))

    async def _on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user = str(command.get("user_id") or "")
        channel = str(command.get("channel_id") or "")
        if parse.is_dm(channel, command.get("channel_name")):
            await ack()
        else:
            # Replies can be private (tickets, approvals): they go to the person's DM.
            person = self.desk.directory.by_slack(user)
            lang = person.language if person else self.desk.settings.language
            await ack(text=self.desk.texts.plain(lang, "slack.answered_in_dm"))
        text = to_plain(str(command.get("text") or ""), self._name).strip()
        # Without a trigger id (never seen), the command itself tells a redelivery apart:
        # hashed, as an event id is logged and what people typed is not.
        typed = hashlib.sha256(f"{user}:{channel}:{text}".encode()).hexdigest()[:24]
        trigger = command.get("trigger_id") or typed
        self._spawn(self._command_in_dm(user, f"{COMMAND} {text}".strip(), f"cmd:{trigger}"))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        for action in body.get("actions") or []:
            hit = parse.pressed(action)
            if hit is None or not user:
                continue
            value, label = hit
            event_id = parse.action_event_id(body, action)
            self._spawn(self._pressed(body, user, value, label, event_id))

    # ---- the work after the ack --------------------------------------------------------

    async def _command_in_dm(self, user: str, text: str, event_id: str) -> None:
        try:
            channel = await self.identity.dm_channel(user)
        except LookupFailed as exc:
            log.error("cannot open a DM with %s for command %s: %s", user, event_id, exc)
            return
        await self._handle(parse.Incoming(user, channel, event_id, text=text))

    async def _pressed(
        self, body: dict[str, Any], user: str, value: str, label: str, event_id: str
    ) -> None:
        conversation = parse.action_conversation(body)
        from_home = conversation is None
        if conversation is None:  # a button on the Home tab: answer in the DM
            try:
                conversation = await self.identity.dm_channel(user)
            except LookupFailed as exc:
                log.error("cannot open a DM with %s for %s: %s", user, value, exc)
                return
        await self._handle(parse.Incoming(user, conversation, event_id, action=value))
        if from_home:
            await self.publish_home(user)
        elif read_button(value).answers_question and label:
            await self._mark_answered(body, label)

    async def _mark_answered(self, body: dict[str, Any], label: str) -> None:
        """Replace a question's buttons with the answer given (cosmetic; failures ignored)."""
        message = body.get("message") or {}
        channel = (body.get("container") or {}).get("channel_id")
        if not channel or not message.get("ts") or not message.get("blocks"):
            return
        try:
            await self.client.chat_update(
                channel=channel,
                ts=message["ts"],
                text=message.get("text") or label,
                blocks=answered(message["blocks"], label),
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("could not mark the answer on %s: %s", message["ts"], exc)

    async def _handle(self, incoming: parse.Incoming) -> None:
        # One turn from here: its correlation id goes with the Inbound to the engine and
        # with every reply and outbox row it causes.
        with logcontext.turn(event=incoming.event_id):
            log.info(
                "slack: %s %s from %s in %s received",
                "button" if incoming.action else "message",
                incoming.event_id,
                incoming.user,
                incoming.conversation,
            )
            await self._handle_turn(incoming)

    async def _handle_turn(self, incoming: parse.Incoming) -> None:
        async with self._locks.hold(f"{incoming.conversation}|{incoming.user}"):
            try:
                person = await self.identity.person(incoming.user)
            except LookupFailed as exc:
                log.warning("could not look up %s: %s", incoming.user, exc)
                if not incoming.thread_only:
                    await self._tell(incoming, "slack.try_again")
                return
            logcontext.set_person(person.id if person else None)
            # Slack has had its ack and will not send the event again: while the database
            # cannot be reached, the turn is tried again (the event id keeps it to once).
            try:
                replies = await patiently(
                    lambda: self._turn(incoming, person),
                    what=f"slack event {incoming.event_id}",
                    within=self.desk.settings.engine.retry_for.total_seconds(),
                )
            except Unavailable as exc:
                log.error(
                    "slack event %s not handled: the database stayed unavailable (%s)",
                    incoming.event_id,
                    exc,
                )
                await self._apologise(incoming)
                return
            except Exception:
                # Its transaction rolled back, so nothing happened: say so, don't go quiet.
                log.exception("handling %s failed", incoming.event_id)
                await self._apologise(incoming)
                return
            await deliver_replies(
                self,
                run_together(replies),
                store=self.desk.store,
                now=self.desk.clock.now(),
                origin=turn_origin(self.name, incoming.event_id),
            )

    async def _turn(self, incoming: parse.Incoming, person: Person | None) -> list[Outbound]:
        """What the desk answers `incoming` (everything that needs the database)."""
        if person is None:
            if not incoming.thread_only and await asyncio.to_thread(
                self.engine.first_time, self.name, incoming.event_id
            ):
                return [self._told(incoming, "slack.unknown_user")]
            return []
        if incoming.thread_only and not await self._for_us(incoming, person):
            return []
        inbound = Inbound(
            self.name,
            incoming.conversation,
            person.id,
            text=incoming.text,
            action=incoming.action,
            event_id=incoming.event_id,
            account=incoming.user,
            correlation=logcontext.correlation_id(),
            files=await self._download(incoming.files),
        )
        return await self.workers.run(inbound)

    async def _for_us(self, incoming: parse.Incoming, person: Person) -> bool:
        """A thread reply without a mention: ours while a journey or question runs there,
        and, when it carries files, in a ticket's thread."""
        if await asyncio.to_thread(
            self.engine.in_conversation, self.name, person.id, incoming.conversation
        ):
            return True
        return bool(incoming.files) and await asyncio.to_thread(
            self.engine.ticket_thread, self.name, incoming.conversation
        )

    async def _download(self, files: tuple[parse.SharedFile, ...]) -> tuple[InboundFile, ...]:
        """Keep the message's files (bot/adapters/downloads.py): within the limits, with the
        bot token, only from Slack's own hosts."""
        return await downloads.keep_all(
            self.desk.settings,
            (
                downloads.Offered(
                    f.name, f.mime, f.size, f.id, functools.partial(self._fetch, f.url)
                )
                for f in files
            ),
        )

    async def _fetch(self, url: str, limit: int) -> bytes:
        """A file's bytes (at most `limit` + 1 of them) from url_private_download."""
        if not _slack_host(url, self.settings.api_url or DEFAULT_API_URL):
            raise ValueError("not a Slack file URL")  # the token goes to Slack only
        session = self.client.session
        assert session is not None, "started"
        headers = {"Authorization": f"Bearer {self.settings.bot_token}"}
        async with session.get(url, headers=headers) as response:
            response.raise_for_status()
            if response.content_type == "text/html":
                raise ValueError("Slack answered with a page, not the file")  # not signed in
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    break
            return bytes(data)

    def _told(self, incoming: parse.Incoming, key: str) -> Outbound:
        """The answer to someone the engine cannot serve (not in the directory, lookup
        failed)."""
        lang = detect(incoming.text) or self.desk.settings.language
        text = self.desk.texts.render(lang, key)
        return Outbound(Address(self.name, incoming.conversation), Message(text=text))

    async def _tell(self, incoming: parse.Incoming, key: str) -> None:
        await deliver_replies(
            self,
            [self._told(incoming, key)],
            store=self.desk.store,
            now=self.desk.clock.now(),
            origin=turn_origin(self.name, incoming.event_id),
        )

    async def _apologise(self, incoming: parse.Incoming) -> None:
        """Tell the person their message was not processed (sent directly: the store failed)."""
        lang = detect(incoming.text) or self.desk.settings.language
        text = self.desk.texts.render(lang, "slack.failed")
        try:
            await self.send(Outbound(Address(self.name, incoming.conversation), Message(text)))
        except DeliveryError as exc:
            log.error("could not tell %s about the failure: %s", incoming.user, exc)

    async def publish_home(self, user_id: str) -> None:
        """Render the Home tab for a Slack user (views.publish)."""
        try:
            person = await self.identity.person(user_id)
        except LookupFailed as exc:
            log.warning("home tab for %s not published: %s", user_id, exc)
            return
        if person is None:
            text = self.desk.texts.render(self.desk.settings.language, "slack.unknown_user")
            view: dict[str, Any] = {"type": "home", "blocks": [section(from_markup(text))]}
        else:
            view = await asyncio.to_thread(home_view, self.desk, person)
        try:
            await self.lookups.views_publish(user_id=user_id, view=view)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            # The tab is rebuilt the next time it is opened: nothing to keep.
            log.warning("views.publish for %s failed: %s", user_id, exc)

    # ---- sending -----------------------------------------------------------------------

    def _language(self, out: Outbound) -> str:
        person = self.desk.directory.get(out.to.person_id)
        return person.language if person else self.desk.settings.language

    def parts(self, out: Outbound, *, most: int = fitting.MAX_PARTS) -> list[Part]:
        """`out` as at most `most` messages within Slack's limits; a cut says where the
        rest is, and choices that do not fit in a select are counted."""
        texts, lang, message = self.desk.texts, self._language(out), out.message
        pointer = fitting.cut_pointer(texts, lang, message)
        return render_parts(
            message,
            select_placeholder=texts.plain(lang, "button.select"),
            pointer=pointer,
            more=texts.plain(lang, "limits.more_choices", n="{n}"),
            most=most,
        )

    async def send(self, out: Outbound, *, edit: str | None = None) -> str:
        """Post `out` (or replace message `edit`, a "channel:ts" ref); return the ref of
        the message with its buttons (the last, when a long one went out in parts)."""
        channel, thread_ts = parse.split_conversation(out.to.conversation)
        try:
            if edit:
                # An edit replaces one message: the whole of it must fit in one.
                [(text, blocks)] = self.parts(out, most=1) or [("", [])]
                ref_channel, _, ts = edit.partition(":")
                try:
                    done = await self.client.chat_update(
                        channel=ref_channel, ts=ts, text=text, blocks=blocks
                    )
                    log.info("slack: chat.update of %s:%s done", done["channel"], done["ts"])
                    return f"{done['channel']}:{done['ts']}"
                except SlackApiError as exc:
                    if exc.response.get("error") not in EDIT_GONE:
                        raise
                    log.info("message %s is gone; posting a new one", edit)
            # A ticket's files are read first: a store that does not answer delays the
            # whole message (the outbox tries again) rather than posting it without them.
            files = await downloads.shared_bytes(self.desk.settings, out.message.files)
            ref = await self._post_parts(out, channel, thread_ts)
            log.info("slack: chat.postMessage to %s done: %s", out.to.conversation, ref)
            posted_channel = ref.partition(":")[0] or channel
            if out.message.image:
                await self._upload(out.message.image, posted_channel, thread_ts)
            for shared, data in files:
                await self.client.files_upload_v2(
                    channel=posted_channel, file=data, filename=shared.name, thread_ts=thread_ts
                )
            return ref
        except SlackApiError as exc:
            raise delivery_error(exc) from exc
        except (SlackRequestError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"slack unreachable: {exc!r}") from exc

    async def _post_parts(self, out: Outbound, channel: str, thread_ts: str | None) -> str:
        """Post the parts in order. A retry after a failure midway (the outbox sends the
        same message again) resumes after the parts already shown instead of repeating them."""
        parts = self.parts(out)
        if not parts:
            log.warning("nothing to show for %s; not sent", out.to.conversation)
            return ""
        key = (out.to.conversation, hashlib.sha256(repr(parts).encode()).hexdigest())
        done, ref = self._partial.get(key, (0, ""))
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        for i, (text, blocks) in enumerate(parts):
            if i < done:
                continue
            posted = await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, **extra
            )
            ref = f"{posted['channel']}:{posted['ts']}"
            self._partial[key] = (i + 1, ref)
        self._partial.pop(key, None)
        return ref

    async def _upload(self, path: str, channel: str, thread_ts: str | None) -> None:
        """Attach a file (a report chart) under the message, in the same conversation
        (files.upload v2: an upload URL, the bytes, then completion)."""
        try:
            data = await asyncio.to_thread(Path(path).read_bytes)
        except OSError as exc:
            # The file is gone: retrying cannot bring it back; the text was delivered.
            log.error("file %s for %s cannot be read: %s", path, channel, exc)
            return
        await self.client.files_upload_v2(
            channel=channel, file=data, filename=Path(path).name, thread_ts=thread_ts
        )


def _slack_host(url: str, api_url: str) -> bool:
    """Whether `url` is on the host of the Web API we talk to (slack.com: files.slack.com)
    and as secure: the bot token is sent with the download."""
    target, api = urlsplit(url), urlsplit(api_url)
    if not target.hostname or not api.hostname:
        return False
    if target.scheme != "https" and target.scheme != api.scheme:
        return False
    host, own = target.hostname.lower(), api.hostname.lower()
    return host == own or host.endswith("." + own)


def build(desk: Desk, engine: Engine, workers: Workers | None = None) -> SlackChannel:
    """Called by `deskbot serve` when channels.slack is active."""
    return SlackChannel(desk, engine, workers)
