"""Intent recognition: which service (or built-in intent) a request in free text asks for."""

from intents.catalog import BUILTINS, OUT_OF_SCOPE, Intent, IntentCatalog, load_builtins
from intents.matcher import (
    Candidate,
    LexicalMatcher,
    Matcher,
    MatchResult,
    Thresholds,
)

__all__ = [
    "BUILTINS",
    "OUT_OF_SCOPE",
    "Candidate",
    "Intent",
    "IntentCatalog",
    "LexicalMatcher",
    "MatchResult",
    "Matcher",
    "Thresholds",
    "load_builtins",
]
