"""What `deskbot doctor` found: one line per check, and for a problem what to do about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str  # which part: config, database, slack, telegram, time zones, calendars, ops
    ok: bool
    detail: str  # what was found (no secrets)
    fix: str = ""  # for a problem: what to do, as a command or a setting to change

    def as_dict(self) -> dict[str, object]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def good(check: str, detail: str) -> Finding:
    return Finding(check, True, detail)


def problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, False, detail, fix)
