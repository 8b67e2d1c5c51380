"""The report as people read it: the chat summary, the CLI table, JSON and CSV.

Labels come from `bot/locale/<lang>/insight.yaml`; JSON and CSV use machine names so
scripts and spreadsheets do not depend on the language.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.base.markup import to_plain
from bot.base.texts import trusted
from bot.desk import Desk
from bot.insight.metrics import GENERAL, KINDS, Figures, Rate, Report, Spread
from bot.insight.problems import GENERAL as NO_SERVICE
from bot.insight.problems import ProblemFigures

# The columns of the CSV: one row per week, then one for the whole period.
CSV_COLUMNS = (
    "from",
    "to",
    "requests",
    "active_requesters",
    "self_service_rate",
    "bypass_rate",
    "repeat_rate",
    "reopen_rate",
    "first_response_p50_h",
    "first_response_p90_h",
    "resolution_p50_h",
    "resolution_p90_h",
    "sla_rate",
    "csat_average",
    "csat_response_rate",
    "approval_wait_p50_h",
    "approval_wait_p90_h",
    "understood_at_once",
    "after_disambiguation",
    "not_understood",
)
TOP_SERVICES = 8  # services listed in the chat summary


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    rows: tuple[Row, ...]


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class Formatter:
    """Turns figures into labelled rows in one language."""

    def __init__(self, desk: Desk, lang: str) -> None:
        self.desk = desk
        self.lang = lang

    def t(self, key: str, **params: Any) -> str:
        return self.desk.texts.plain(self.lang, f"insight.{key}", **params)

    def rate(self, rate: Rate) -> str:
        value = rate.value
        if value is None:
            return self.t("fmt.none")
        return self.t("fmt.rate", pct=_number(value * 100), part=rate.part, whole=rate.whole)

    def spread(self, spread: Spread) -> str:
        if not spread.count:
            return self.t("fmt.none")
        return self.t(
            "fmt.spread", p50=_number(spread.p50), p90=_number(spread.p90), count=spread.count
        )

    def average(self, value: float | None) -> str:
        return (
            self.t("fmt.none") if value is None else self.t("fmt.average", value=_number(value, 2))
        )

    def service(self, service: str) -> str:
        if service == GENERAL:
            return self.t("general")
        journey = self.desk.catalog.get(service)
        return journey.title.get(self.lang) if journey is not None else service

    def topic(self, topic: str) -> str:
        referral = self.desk.intents.referrals.get(topic)
        if referral is None:
            return topic  # a topic since taken out of catalog/referrals.yaml
        return referral.titles.get(self.lang) or referral.titles.get("en") or topic

    def date(self, when: datetime, tz: str) -> str:
        local = when.astimezone(ZoneInfo(tz))
        return self.t(
            "date",
            day=local.day,
            month=local.month,
            month_name=self.desk.texts.list(self.lang, "months")[local.month - 1],
            year=local.year,
        )

    def period(self, figures: Figures, tz: str) -> str:
        # The end is exclusive: a period ending at midnight is shown up to the day before.
        last = figures.end - timedelta(microseconds=1)
        return self.t("period", start=self.date(figures.start, tz), end=self.date(last, tz))

    def sections(self, f: Figures) -> list[Section]:
        """The figures in the order the summary and the table show them."""
        kinds = [
            {"label": self.t(f"kind.{k}"), "count": f.by_kind[k]} for k in KINDS if f.by_kind[k]
        ]
        requests = str(f.requests)
        if kinds:
            requests += f" ({self.t('fmt.kinds', kinds=kinds)})"

        def row(key: str, value: str) -> Row:
            return Row(self.t(f"figure.{key}"), value)

        usage = (
            row("requests", requests),
            row("requesters", str(f.requesters)),
            row("self_service", self.rate(f.self_service)),
            row("bypass", self.rate(f.bypass)),
            row("repeats", self.rate(f.repeats)),
        )
        services = tuple(Row(self.service(s), str(n)) for s, n in f.services)
        quality = (
            row("first_response", self.spread(f.first_response)),
            row("awaiting_response", str(f.awaiting_response)),
            row("resolution", self.spread(f.resolution)),
            row("sla", self.rate(f.sla)),
            row("sla_response", self.rate(f.sla_response)),
            row("sla_resolution", self.rate(f.sla_resolution)),
            row("open_over_target", str(f.open_over_target)),
            row("reopened", self.rate(f.reopened)),
        )
        satisfaction = (
            row("csat", self.average(f.csat_average)),
            row("csat_responses", self.rate(f.csat_responses)),
            row("approval_wait", self.spread(f.approval_wait)),
            row("approvals_waiting", str(f.approvals_waiting)),
        )
        matcher = (
            row("matcher_understood", self.rate(f.matcher_understood)),
            row("matcher_disambiguated", self.rate(f.matcher_disambiguated)),
            row("matcher_not_understood", self.rate(f.matcher_not_understood)),
            row("matcher_unanswered", self.rate(f.matcher_unanswered)),
            row("matcher_referred", self.rate(f.matcher_referred)),
            *(Row(self.t("referral", topic=self.topic(t)), str(n)) for t, n in f.referrals),
        )
        incidents = (
            row("incidents_declared", str(f.incidents_declared)),
            row("incident_reports", str(f.incident_reports)),
        )
        parts = (
            ("usage", usage),
            ("services", services),
            ("quality", quality),
            ("satisfaction", satisfaction),
            ("matcher", matcher),
            ("incidents", incidents),
        )
        return [Section(key, self.t(f"section.{key}"), rows) for key, rows in parts]


def summary(desk: Desk, lang: str, report: Report, *, digest: bool = False) -> str:
    """The chat message: title and period, then each section (top services only)."""
    fmt = Formatter(desk, lang)
    title = desk.texts.render(
        lang,
        "insight.digest_title" if digest else "insight.title",
        period=fmt.period(report.period, report.timezone),
    )
    sections = []
    for section in [*fmt.sections(report.period), *problem_sections(fmt, report.problems)]:
        rows = section.rows
        if section.key == "services":
            rows = rows[:TOP_SERVICES]
        if rows:
            sections.append({"title": section.title, "rows": [r.__dict__ for r in rows]})
    return desk.texts.render(lang, "insight.summary", title=trusted(title), sections=sections)


def table(desk: Desk, lang: str, report: Report) -> str:
    """Plain text for the terminal: the title, then aligned label / value rows."""
    fmt = Formatter(desk, lang)
    title = to_plain(
        desk.texts.render(lang, "insight.title", period=fmt.period(report.period, report.timezone))
    )
    sections = [*fmt.sections(report.period), *problem_sections(fmt, report.problems)]
    width = max((len(r.label) for s in sections for r in s.rows), default=0)
    lines = [title]
    for section in sections:
        lines += ["", section.title]
        lines += [f"  {r.label.ljust(width)}  {r.value}" for r in section.rows]
    return "\n".join(lines) + "\n"


def problem_sections(fmt: Formatter, figures: ProblemFigures | None) -> list[Section]:
    """The problems block: totals, then one row per service (labels in problems.yaml)."""
    if figures is None:
        return []
    desk, lang = fmt.desk, fmt.lang

    def t(key: str, **params: Any) -> str:
        return desk.texts.plain(lang, f"problems.report.{key}", **params)

    per = figures.per_problem
    rows = [
        Row(t("opened"), str(figures.opened)),
        Row(t("resolved"), str(figures.resolved)),
        Row(t("open"), str(figures.open)),
        Row(
            t("per_problem"),
            t(
                "per_problem_value",
                value=_number(per, 1) if per is not None else fmt.t("fmt.none"),
                incidents=figures.incidents,
                problems=figures.problems_seen,
            ),
        ),
        Row(t("candidates"), str(figures.candidates)),
    ]
    for s in figures.by_service:
        name = t("general") if s.service == NO_SERVICE else fmt.service(s.service)
        value = t(
            "service_value",
            opened=s.opened,
            resolved=s.resolved,
            open=s.open,
            incidents=s.incidents,
            candidates=s.candidates,
        )
        rows.append(Row(t("service", service=name), value))
    return [Section("problems", t("section"), tuple(rows))]


def _rate(rate: Rate) -> str:
    return _number(rate.value, 4)


def csv_rows(report: Report) -> list[dict[str, str]]:
    rows = []
    for f in [*report.weeks, report.period]:
        rows.append(
            {
                "from": f.start.isoformat(),
                "to": f.end.isoformat(),
                "requests": str(f.requests),
                "active_requesters": str(f.requesters),
                "self_service_rate": _rate(f.self_service),
                "bypass_rate": _rate(f.bypass),
                "repeat_rate": _rate(f.repeats),
                "reopen_rate": _rate(f.reopened),
                "first_response_p50_h": _number(f.first_response.p50),
                "first_response_p90_h": _number(f.first_response.p90),
                "resolution_p50_h": _number(f.resolution.p50),
                "resolution_p90_h": _number(f.resolution.p90),
                "sla_rate": _rate(f.sla),
                "csat_average": _number(f.csat_average, 2),
                "csat_response_rate": _rate(f.csat_responses),
                "approval_wait_p50_h": _number(f.approval_wait.p50),
                "approval_wait_p90_h": _number(f.approval_wait.p90),
                "understood_at_once": _rate(f.matcher_understood),
                "after_disambiguation": _rate(f.matcher_disambiguated),
                "not_understood": _rate(f.matcher_not_understood),
            }
        )
    return rows


def to_csv(report: Report) -> str:
    """One row per week, then one for the whole period (rates 0-1, empty when undefined)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(report))
    return out.getvalue()
