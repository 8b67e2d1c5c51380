"""Intent recognition: which service (or built-in intent) a request in free text asks for."""

from intents.catalog import BUILTINS, Intent, IntentCatalog, load_builtins
from intents.matcher import Candidate, FuzzyMatcher, Matcher, MatchResult, Thresholds

__all__ = [
    "BUILTINS",
    "Candidate",
    "FuzzyMatcher",
    "Intent",
    "IntentCatalog",
    "MatchResult",
    "Matcher",
    "Thresholds",
    "load_builtins",
]
