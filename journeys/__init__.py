"""Service journeys: definitions as data (YAML) and a small pure interpreter."""

from journeys.interpreter import advance
from journeys.loader import Catalog, load_catalog
from journeys.model import Journey
from journeys.state import Context, JourneyState, Press, Result, Start, Text

__all__ = [
    "Catalog",
    "Context",
    "Journey",
    "JourneyState",
    "Press",
    "Result",
    "Start",
    "Text",
    "advance",
    "load_catalog",
]
