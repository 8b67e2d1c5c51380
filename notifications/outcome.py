"""The outcome of one fired timer, shared by the notices that act and the firing that records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fired:
    """The outcome of one timer: `sent`, or why nothing was sent (`skipped:muted`...)."""

    outcome: str
    data: dict[str, Any] = field(default_factory=dict)
