"""The platform-neutral vocabulary every channel speaks: Inbound in, Outbound out.

`Message.text` is *markup*: a tiny safe-HTML subset (`<b> <i> <code> <pre> <a href>`,
newlines) in which every piece of user-supplied text has been HTML-escaped by the
template engine. Each adapter turns it into its own format (console text, Slack
mrkdwn, Telegram HTML). Button labels, card fields and progress lines are plain text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Style = Literal["default", "primary", "danger"]


@dataclass(frozen=True, slots=True)
class Choice:
    """A button or list option. `value` comes back verbatim as `Inbound.action`.

    Telegram limits callback data to 64 bytes, so values are short codes.
    """

    label: str
    value: str
    style: Style = "default"


@dataclass(frozen=True, slots=True)
class CardField:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class TicketCard:
    """A ticket summary rendered natively by each channel (Block Kit section, HTML block...)."""

    number: str
    title: str
    status: str
    fields: tuple[CardField, ...] = ()
    url: str | None = None


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file to upload with a message (an attachment re-shared to a technician): its path
    in the attachment store (`bot.base.filestore`, ab/abcdef...) and the name people see."""

    path: str
    name: str


@dataclass(frozen=True, slots=True)
class Message:
    """What to show: markup text, optional buttons, progress line, ticket card, image."""

    text: str = ""
    choices: tuple[Choice, ...] = ()
    progress: str | None = None
    card: TicketCard | None = None
    image: str | None = None  # path of a PNG to attach (reports)
    select_label: str | None = None  # label of the select when choices are shown as a list
    # Where the whole text can be read when a platform must cut this message (a command
    # such as "/show IT-1042"); the adapter names it in the cut notice.
    more: str | None = None
    files: tuple[SharedFile, ...] = ()  # uploaded after the text, in order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        card = data.get("card")
        return cls(
            text=data.get("text", ""),
            choices=tuple(Choice(**c) for c in data.get("choices", ())),
            progress=data.get("progress"),
            card=TicketCard(
                number=card["number"],
                title=card["title"],
                status=card["status"],
                fields=tuple(CardField(**f) for f in card.get("fields", ())),
                url=card.get("url"),
            )
            if card
            else None,
            image=data.get("image"),
            select_label=data.get("select_label"),
            more=data.get("more"),
            files=tuple(SharedFile(**f) for f in data.get("files", ())),
        )


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes: a channel, a conversation in it, and who it is for.

    `conversation` is the platform's chat coordinate: a Slack channel id (or
    `channel:thread_ts` for a thread), a Telegram chat id, or a console person id.
    """

    channel: str
    conversation: str
    person_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundFile:
    """A file that came with a message. The adapter downloads it into the attachment store
    before the engine sees it (`path`, `sha256`), or says why it did not (`problem`:
    `too_big`, `wrong_type` or `failed`); the engine only records and routes it."""

    name: str
    mime: str
    size: int
    platform_id: str = ""  # the platform's own id of the file (Slack F..., Telegram file_id)
    path: str = ""  # in the attachment store, relative to its folder
    sha256: str = ""
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did: typed text (with files, perhaps) or pressed a button.

    `account` is the sender's own id on the platform (a Slack user id, a Telegram user id):
    where to reach them privately when they wrote in a shared place.
    """

    channel: str
    conversation: str
    person_id: str
    text: str = ""
    action: str | None = None
    event_id: str | None = None
    account: str | None = None
    # The turn's correlation id (bot/base/logcontext.py), given by the adapter that received
    # it, so the engine logs under it even in another process.
    correlation: str | None = None
    files: tuple[InboundFile, ...] = ()
    # The ticket number in the bot's message this one replies to (a Telegram reply to a
    # notice about IT-1042): where its files go.
    about: str | None = None

    @property
    def address(self) -> Address:
        return Address(self.channel, self.conversation, self.person_id)


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message for one address. `key` names a message that is edited in place later
    (for example the triage card `card:IT-1042`); sending with a known key updates it."""

    to: Address
    message: Message = field(default_factory=Message)
    key: str | None = None

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def choices(self) -> tuple[Choice, ...]:
        return self.message.choices


def run_together(replies: list[Outbound]) -> list[Outbound]:
    """Fold text-only replies into the reply after them when both go to the same place.

    A turn often says something short before it asks ("Got it: Password reset.", a
    self-service tip, then the question). As one message it is one notification and one
    API call instead of three, which matters under Slack's and Telegram's per-chat rate
    limits. Messages that are edited later (`key`), carry a picture, or have buttons, a card
    or a progress line only ever end a run, so what they show stays where it was.
    """
    merged: list[Outbound] = []
    pending: list[str] = []
    for i, out in enumerate(replies):
        after = replies[i + 1] if i + 1 < len(replies) else None
        foldable = (
            after is not None
            and after.to == out.to
            and out.key is None
            and after.key is None
            and out.message == Message(text=out.message.text)
            and not after.message.image
            and not after.message.files
        )
        if foldable:
            pending.append(out.message.text)
            continue
        if pending:
            text = "\n\n".join([*pending, out.message.text])
            out = replace(out, message=replace(out.message, text=text))
            pending = []
        merged.append(out)
    return merged


# Dropped from everything people send: C0 controls but tab, newline and carriage return
# (U+0000 cannot even be stored by PostgreSQL), DEL, C1 controls; bidi embeddings,
# overrides and isolates (they make "txt.exe" read as "exe.txt" in a title); zero-width
# spaces and the BOM. Zero-width joiners stay: emoji sequences need them.
_INVISIBLE = (
    {c: None for c in range(0x20) if chr(c) not in "\t\n\r"}
    | dict.fromkeys(range(127, 160))
    | dict.fromkeys((*range(8234, 8239), *range(8294, 8298)))
    | dict.fromkeys((8203, 8288, 65279))
)


def clean_text(text: str) -> str:
    """`text` without control and invisible characters that nobody types on purpose."""
    return text.translate(_INVISIBLE)
