"""The change half of `deskbot report` (docs/changes.md): per item changed (a configuration
item, else the system as named), how many changes had an outcome in the period, how many
succeeded, and how many were followed by incidents (tied to them after a failure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.desk import Desk
from store import changes as repo


@dataclass(frozen=True)
class ChangeRow:
    item: str  # the configuration item's id, else the system name folded
    name: dict[str, str]  # as people read it, by language
    finished: int  # an outcome reported in the period
    succeeded: int
    failed: int
    rolled_back: int
    followed_by_incidents: int

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None

    def as_dict(self) -> dict[str, Any]:
        rate = self.success_rate
        return {
            "item": self.item,
            "name": dict(self.name),
            "finished": self.finished,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "rolled_back": self.rolled_back,
            "success_rate": None if rate is None else round(rate, 4),
            "followed_by_incidents": self.followed_by_incidents,
        }


@dataclass(frozen=True)
class ChangeFigures:
    rows: list[ChangeRow]  # most changes first
    total: ChangeRow

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total.as_dict(), "by_item": [r.as_dict() for r in self.rows]}


def change_figures(desk: Desk, session: Session, start: datetime, end: datetime) -> ChangeFigures:
    """Changes with an outcome reported in [start, end), by the item they changed."""
    counts: dict[str, list[int]] = {}
    names: dict[str, dict[str, str]] = {}
    for record, _ticket in repo.finished_between(session, start, end):
        row = counts.setdefault(record.item, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1 + ("succeeded", "failed", "rolled_back").index(record.stage)] += 1
        if repo.incidents_linked(session, record.ticket_id):
            row[4] += 1
        if record.item not in names:
            item = desk.content.cis.get(record.item)
            names[record.item] = (
                {lang: item.name(lang) for lang in ("en", "zh")}
                if item is not None
                else {"en": record.system, "zh": record.system}
            )
    rows = [ChangeRow(item, names[item], *numbers) for item, numbers in counts.items()]
    rows.sort(key=lambda r: (-r.finished, r.item))
    sums = [sum(getattr(r, f) for r in rows) for f in _COUNTS]
    return ChangeFigures(rows, ChangeRow("", {}, *sums))


_COUNTS = ("finished", "succeeded", "failed", "rolled_back", "followed_by_incidents")


def change_table(desk: Desk, lang: str, figures: ChangeFigures) -> str:
    """The changes block of the terminal report (plain text, after the other sections)."""
    rows = [
        {
            "name": r.name.get(lang) or r.name.get("en") or r.item,
            "finished": r.finished,
            "rate": _percent(r.success_rate),
            "failed": r.failed,
            "rolled_back": r.rolled_back,
            "incidents": r.followed_by_incidents,
        }
        for r in figures.rows
    ]
    total = figures.total
    return desk.texts.plain(
        lang,
        "changes.report",
        rows=rows,
        finished=total.finished,
        rate=_percent(total.success_rate),
        failed=total.failed,
        rolled_back=total.rolled_back,
        incidents=total.followed_by_incidents,
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"
