"""The typed settings loaded once from config.yaml.

Every section is a frozen pydantic model with unknown fields forbidden, so a typo in
config.yaml is an error with file and line rather than a silently ignored setting.
Secrets are written as `${ENV_VAR}` (or `${ENV_VAR:-default}`) and expanded on load.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from bot.yamlfile import (
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

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$")


def parse_duration(value: Any) -> timedelta:
    """Parse `30m`, `4h`, `2d`, `1w` into a timedelta (numbers alone are minutes)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(minutes=value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30m, 4h, 2d")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a duration; use a number and m, h, d or w (e.g. 4h)")
    amount, unit = float(match.group(1)), match.group(2)
    minutes = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}[unit] * amount
    return timedelta(minutes=minutes)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
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

    @property
    def console_active(self) -> bool:
        if self.console.enabled == "auto":
            return not (self.slack.active or self.telegram.active)
        return self.console.enabled


class Database(Section):
    url: str = "sqlite:///var/deskbot.db"
    echo: bool = False


class Paths(Section):
    """Content locations, relative to the directory of config.yaml."""

    services: str = "catalog/services"
    builtins: str = "catalog/builtins.yaml"
    learned: str = "catalog/learned.yaml"  # phrasings accepted with `deskbot intents accept`
    knowledge: str = "content/kb"
    people: str = "directory/people.csv"
    assets: str = "directory/assets.csv"
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
    low: float = Field(0.35, ge=0, le=1)
    margin: float = Field(0.08, ge=0, le=1)
    max_choices: int = Field(4, ge=2, le=5)

    @model_validator(mode="after")
    def _ordered(self) -> Matcher:
        if self.low > self.high:
            raise ValueError("low must not be above high")
        return self


class ConversationSettings(Section):
    idle_timeout: Duration = timedelta(hours=2)
    max_failures: int = 3


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
    conversation: ConversationSettings = ConversationSettings()

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
        for name, targets in self.sla.items():
            missing = [p for p in PRIORITIES if p not in targets]
            if missing:
                raise ValueError(f"sla.{name}: missing targets for {', '.join(missing)}")
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
    copy = settings.model_copy(update={"database": Database(url=url, echo=settings.database.echo)})
    copy._lines = settings._lines
    return copy
