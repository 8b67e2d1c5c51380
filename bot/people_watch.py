"""The running desk picks up new people without a restart.

The desk's `Content` remembers the people file's stamp (`bot.directory.people_stamp`: one
`stat`) from when it was loaded. `refresh` compares it with the file on disk; when a sync
(here, in another process, or `deskbot directory sync` from cron) has replaced the file,
the directory is loaded again and a new `Content` replaces the desk's in one assignment, as
known errors do (`bot/known_errors.py`): a turn in another thread sees the old people or
the new, never half of each. The engine calls it before every message, in threads and in
child processes alike; `deskbot serve` also every `directory.watch`, for its own jobs.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.base.yamlfile import ProblemsError
from bot.desk import Desk
from bot.directory import load_directory, people_stamp

log = logging.getLogger(__name__)


def refresh(desk: Desk, *, force: bool = False) -> bool:
    """Load the people again if their file changed; True when the desk's people changed.

    A file that breaks the rules (edited by hand) leaves the loaded people in place and is
    logged once, until it changes again. Content built without a stamp (tests that set
    their own people) is never reloaded."""
    content = desk.content
    if content.people_stamp is None:
        return False
    stamp = people_stamp(desk.settings)
    if stamp == content.people_stamp and not force:
        return False
    try:
        directory = load_directory(desk.settings)
    except ProblemsError as exc:
        log.error(
            "the people file changed but cannot be loaded; the people loaded before stay: %s",
            "; ".join(str(p) for p in exc.problems[:5]),
        )
        desk.content = replace(content, people_stamp=stamp)
        return False
    desk.content = replace(content, directory=directory, people_stamp=stamp)
    # Profiles and other values remembered from the old people would be stale.
    desk.memo = {}
    log.info("people loaded again: %d (%d active)", len(directory.people), _active(desk))
    return True


def _active(desk: Desk) -> int:
    return sum(1 for p in desk.directory if p.active)
