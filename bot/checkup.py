"""`deskbot doctor`'s checks that need no chat platform: the database and its schema, the
attachment store, time zones, business-hours calendars and the ops listener. Each returns
findings, never raises for what it was asked to check: a doctor that crashes on the illness
tells nobody anything.

The Slack and Telegram checks live with their adapters (`probe.py`), the only code that
talks to the platforms.
"""

from __future__ import annotations

import errno
import socket
import urllib.error
import urllib.request
import zoneinfo
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.base.calendar import BusinessCalendar
from bot.base.config import Settings
from bot.base.filestore import StoreUnavailable, open_store
from bot.base.findings import Finding, good, problem
from bot.directory import Person
from store import migrate
from store.db import Store

UPGRADE = "run `deskbot db upgrade` (once per release, before starting deskbot)"
TZDATA = (
    "this machine has no time zone database: install tzdata (apt install tzdata, or pip "
    "install tzdata in deskbot's environment)"
)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


# ---- database -------------------------------------------------------------------------------


def database(settings: Settings) -> list[Finding]:
    """Can the database be reached, and is its schema the one this release needs?"""
    url = settings.database.url
    if not url.startswith("sqlite") and "connect_timeout" not in url:
        # A server that drops packets would otherwise keep the doctor waiting for minutes.
        url = (
            make_url(url)
            .update_query_dict({"connect_timeout": "5"})
            .render_as_string(hide_password=False)
        )
    store = Store(
        url,
        base_dir=settings.base_dir,
        busy_timeout=settings.database.busy_timeout.total_seconds(),
    )
    shown = make_url(store.url).render_as_string(hide_password=True)
    try:
        if store.is_sqlite and not store.in_memory:
            path = Path(make_url(store.url).database or "")
            if not path.exists():
                return [good("database", f"{path} does not exist yet; deskbot serve creates it")]
        try:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            have, want = migrate.current(store), migrate.head(store)
        except Exception as exc:
            return [
                problem(
                    "database",
                    f"cannot use the database at {shown}: {_first_line(exc)}",
                    "check database.url / DATABASE_URL (host, name, user, password) and that "
                    "the database server is running and reachable from here",
                )
            ]
        found = [good("database", f"{store.dialect} at {shown} answers")]
        found.append(_schema(store, have, want))
        return found
    finally:
        store.dispose()


def _schema(store: Store, have: str | None, want: str | None) -> Finding:
    if have == want:
        return good("schema", f"at revision {have}, as this release needs")
    if have is not None and not migrate.known(store, have):
        return problem(
            "schema",
            f"at revision {have}, which this release does not know (it needs {want}): "
            "a newer deskbot migrated it",
            "run the deskbot release that migrated it, or restore a backup taken before",
        )
    if store.is_sqlite:
        return good(
            "schema", f"at revision {have or 'none'}; deskbot serve upgrades SQLite to {want}"
        )
    return problem("schema", f"at revision {have or 'none'}, this release needs {want}", UPGRADE)


# ---- the attachment store ------------------------------------------------------------------


def file_store(settings: Settings) -> list[Finding]:
    """Can files be kept where `attachments:` says: the folder writable, or the S3 bucket
    reached with the configured keys (HeadBucket: nothing is written)."""
    policy = settings.attachments
    try:
        return [good("attachments", open_store(settings).check())]
    except StoreUnavailable as exc:
        if policy.store == "s3":
            fix = (
                "check attachments.s3 (endpoint_url, bucket, region) and the access key "
                "(S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY or however config.yaml names them), "
                "that the bucket exists and that this machine can reach the endpoint"
            )
        else:
            fix = "make attachments.folder writable by the user deskbot runs as"
        return [problem("attachments", str(exc), fix)]


# ---- time zones -----------------------------------------------------------------------------


def time_zones(settings: Settings, people: Iterable[Person]) -> list[Finding]:
    """Every time zone in use (business hours, the digest, each person) resolves here."""
    if not zoneinfo.available_timezones():
        return [problem("time zones", "no time zone database found", TZDATA)]
    used: dict[str, list[str]] = {}
    for name, hours in settings.business_hours.items():
        used.setdefault(hours.timezone, []).append(f"business_hours.{name}")
    digest = settings.insight.digest.timezone
    if digest:
        used.setdefault(digest, []).append("insight.digest")
    for person in people:
        used.setdefault(person.timezone, []).append(f"person {person.id}")
    bad = []
    for zone, where in sorted(used.items()):
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            bad.append(
                problem(
                    "time zones",
                    f"unknown time zone {zone!r} ({', '.join(where)})",
                    "use an IANA name such as Europe/London or Asia/Shanghai",
                )
            )
    return bad or [good("time zones", f"{len(used)} in use, all known: {', '.join(sorted(used))}")]


# ---- business-hours calendars ---------------------------------------------------------------


def calendars(settings: Settings, today: date) -> list[Finding]:
    """Each business-hours calendar has working days, known holidays and opens soon."""
    found = []
    for name, hours in settings.business_hours.items():
        where = f"business_hours.{name}"
        if not hours.days:
            found.append(
                problem(
                    "calendars",
                    f"{where}.days is empty: the desk is never open, no SLA can be counted",
                    f"list the working days in {where}.days, e.g. [mon, tue, wed, thu, fri]",
                )
            )
            continue
        calendar = BusinessCalendar(hours)
        try:
            open_days = [
                day
                for day in (today + timedelta(days=n) for n in range(28))
                if calendar.is_business_day(day)
            ]
        except (NotImplementedError, KeyError, ValueError) as exc:
            found.append(
                problem(
                    "calendars",
                    f"{where}.holidays: {hours.holidays!r} is not known to the holidays "
                    f"package ({exc})",
                    f"set {where}.holidays to a country code such as GB, US or CN, optionally "
                    "with a subdivision (GB-SCT, US-CA), or remove it",
                )
            )
            continue
        if not open_days:
            found.append(
                problem(
                    "calendars",
                    f"{where}: not one working day in the next four weeks",
                    f"check {where}.days and {where}.holidays",
                )
            )
            continue
        holidays = f", holidays {hours.holidays}" if hours.holidays else ", no public holidays"
        found.append(
            good(
                "calendars",
                f"{where}: {', '.join(hours.days)} {hours.start}-{hours.end} {hours.timezone}"
                f"{holidays}; next working day {open_days[0].isoformat()}",
            )
        )
    return found


# ---- the ops listener -----------------------------------------------------------------------


def ops_listener(value: object) -> list[Finding]:
    """`ops.http` (HOST:PORT, where /healthz and /metrics are served): it parses, and the
    port can be bound here - or deskbot already answers /healthz on it."""
    if value in (None, ""):
        return [good("ops", "ops.http is not set: no /healthz or /metrics endpoint")]
    address = parse_host_port(value)
    if address is None:
        return [
            problem(
                "ops",
                f"ops.http: {value!r} is not HOST:PORT",
                "set ops.http to an address and port, e.g. 127.0.0.1:9102",
            )
        ]
    host, port = address
    exc = _cannot_bind(host, port)
    if exc is not None:
        if exc.errno == errno.EADDRINUSE:
            if _answers_healthz(host, port):
                return [good("ops", f"ops.http {host}:{port}: deskbot answers /healthz there")]
            return [
                problem(
                    "ops",
                    f"ops.http {host}:{port}: the port is taken by another program",
                    "choose a free port for ops.http, or stop what listens there "
                    f"(ss -ltnp 'sport = :{port}')",
                )
            ]
        return [
            problem(
                "ops",
                f"ops.http {host}:{port}: cannot listen there ({exc.strerror or exc})",
                "use an address of this machine (0.0.0.0 for all, 127.0.0.1 for local only) "
                "and a port above 1023",
            )
        ]
    return [good("ops", f"ops.http {host}:{port}: free to listen on")]


def _cannot_bind(host: str, port: int) -> OSError | None:
    """Why this process could not listen on host:port now; None when it could."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return exc
    return None


def scim_listener(settings: Settings) -> list[Finding]:
    """`directory.scim.listen`: the SCIM endpoint's port can be bound here - or deskbot's
    SCIM endpoint already answers there (asked without the token: a SCIM 401). Nothing
    to say without a `directory.scim` section."""
    cfg = settings.directory.scim
    if cfg is None:
        return []
    host, port = cfg.listen
    where = f"directory.scim.listen {host}:{port}"
    exc = _cannot_bind(host, port)
    if exc is None:
        return [good("scim", f"{where}: free to listen on")]
    if exc.errno == errno.EADDRINUSE:
        if _answers_scim(host, port):
            return [good("scim", f"{where}: deskbot's SCIM endpoint answers there")]
        return [
            problem(
                "scim",
                f"{where}: the port is taken by another program",
                "choose a free port for directory.scim.listen, or stop what listens there "
                f"(ss -ltnp 'sport = :{port}')",
            )
        ]
    return [
        problem(
            "scim",
            f"{where}: cannot listen there ({exc.strerror or exc})",
            "use an address of this machine (127.0.0.1 behind a reverse proxy) "
            "and a port above 1023",
        )
    ]


def _answers_scim(host: str, port: int) -> bool:
    reach = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    shown = f"[{reach}]" if ":" in reach else reach
    url = f"http://{shown}:{port}/scim/v2/ServiceProviderConfig"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            body = answer.read(4096)
    except urllib.error.HTTPError as refused:  # 401: no token was sent
        body = refused.read(4096) if refused.code == 401 else b""
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return b"urn:ietf:params:scim:api:messages:2.0:Error" in body


def parse_host_port(value: object) -> tuple[str, int] | None:
    if not isinstance(value, str):
        return None
    host, sep, raw_port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not raw_port.isascii() or not raw_port.isdigit():
        return None
    port = int(raw_port)
    return (host, port) if 0 < port < 65536 else None


def _answers_healthz(host: str, port: int) -> bool:
    reach = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    shown = f"[{reach}]" if ":" in reach else reach
    try:
        with urllib.request.urlopen(f"http://{shown}:{port}/healthz", timeout=3) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False
