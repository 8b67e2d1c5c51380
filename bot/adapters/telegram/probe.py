"""`deskbot doctor`'s Telegram checks: the token (`getMe`) and that every triage group
exists and has the bot in it (`getChat`, `getChatMember`). Read-only calls."""

from __future__ import annotations

from collections import defaultdict

from telegram import Bot, ChatMember
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.adapters.telegram.channel import DEFAULT_API_URL, api_base
from bot.adapters.telegram.updates import chat_of
from bot.base.config import Settings
from bot.base.findings import Finding, good, problem

REFUSED_FIX = "set TELEGRAM_BOT_TOKEN to the token @BotFather gave (/mybots > API Token)"
GONE = (ChatMember.LEFT, ChatMember.BANNED)


async def probe(settings: Settings) -> list[Finding]:
    telegram = settings.channels.telegram
    if not telegram.active:
        return [good("telegram", "off (no TELEGRAM_BOT_TOKEN)")]
    where = telegram.api_url or DEFAULT_API_URL
    base = api_base(telegram.api_url)
    # Our own connection pools, so they are closed even when getMe fails (the Bot's own
    # shutdown does nothing for a bot that never finished initialising).
    requests = (HTTPXRequest(), HTTPXRequest())
    root, files = base or api_base(DEFAULT_API_URL) or ("", "")
    bot = Bot(
        telegram.token,
        base_url=root,
        base_file_url=files,
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        return await _checks(settings, bot, where)
    finally:
        for request in requests:
            await request.shutdown()


async def _checks(settings: Settings, bot: Bot, where: str) -> list[Finding]:
    try:
        await bot.initialize()  # getMe
    except (InvalidToken, Forbidden) as exc:
        refused = f"Telegram refused channels.telegram.token ({exc})"
        return [problem("telegram", refused, REFUSED_FIX)]
    except NetworkError as exc:
        return [
            problem(
                "telegram",
                f"cannot reach Telegram at {where} ({exc})",
                "check this machine's outbound HTTPS (proxy, firewall) to api.telegram.org",
            )
        ]
    return [good("telegram", f"token: @{bot.username}"), *await _triage(settings, bot)]


async def _triage(settings: Settings, bot: Bot) -> list[Finding]:
    groups: dict[str, list[str]] = defaultdict(list)
    for qid, queue in settings.queues.items():
        if queue.triage.telegram:
            groups[queue.triage.telegram].append(qid)
    found = []
    invite = f"add @{bot.username} to the group (group settings > Add members)"
    for target, qids in groups.items():
        keys = ", ".join(f"queues.{q}.triage.telegram" for q in qids)
        chat = chat_of(target)
        try:
            info = await bot.get_chat(chat)
            member = await bot.get_chat_member(chat, bot.id)
        except (BadRequest, Forbidden) as exc:
            found.append(
                problem(
                    "telegram",
                    f"triage group {target} ({exc.message}) for {keys}",
                    f"{invite}, then put its id in {keys} (the bot logs a group's id when "
                    "someone writes there)",
                )
            )
            continue
        except TelegramError as exc:
            found.append(problem("telegram", f"triage group {target}: {exc}", "try again"))
            continue
        title = info.title or target
        if member.status in GONE:
            found.append(
                problem(
                    "telegram",
                    f"triage group {title!r} ({target}): the bot is not in it ({keys})",
                    invite,
                )
            )
        else:
            found.append(good("telegram", f"triage group {title!r} ({target}): the bot is in it"))
    return found
