"""Trained models kept between processes (`matcher.cache`, intents.training.trained_for):
read back instead of trained again, keyed by what shapes them, and never read from a file
someone else could have written."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from intents import training
from intents.catalog import Intent, IntentCatalog
from intents.matcher import LexicalMatcher


def _catalog(*extra: str) -> IntentCatalog:
    catalog = IntentCatalog()
    catalog.add(Intent("vpn", "service", {"en": "VPN"}, {"en": ("vpn keeps dropping", *extra)}))
    catalog.add(Intent("printer", "service", {"en": "Printer"}, {"en": ("printer is jammed",)}))
    return catalog


@pytest.fixture(autouse=True)
def _fresh_process() -> Iterator[None]:
    """As a new process: nothing trained in memory yet."""
    training._CACHE.clear()
    yield
    training._CACHE.clear()


def _models(folder: Path) -> list[Path]:
    return sorted(folder.glob("matcher-*.pickle"))


def test_a_model_is_kept_and_read_back_by_the_next_process(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    first = LexicalMatcher(_catalog(), kept_in=folder)
    [kept] = _models(folder)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    # Proof that the next one reads the file: a model of another catalog put in its place
    # is what it gets.
    other = LexicalMatcher(_catalog("wifi is down"), kept_in=tmp_path / "elsewhere")
    [elsewhere] = _models(tmp_path / "elsewhere")
    kept.write_bytes(elsewhere.read_bytes())
    training._CACHE.clear()
    again = LexicalMatcher(_catalog(), kept_in=folder)
    assert again.phrase_count() == other.phrase_count() != first.phrase_count()


def test_another_catalog_trains_and_keeps_a_model_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    LexicalMatcher(_catalog(), kept_in=folder)
    changed = LexicalMatcher(_catalog("remote access fails"), kept_in=folder)
    assert len(_models(folder)) == 2
    assert changed.match("remote access fails").top.intent == "vpn"  # type: ignore[union-attr]


def test_a_model_others_could_write_is_never_read(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    own = LexicalMatcher(_catalog(), kept_in=folder).phrase_count()
    [kept] = _models(folder)
    # Swapped for another catalog's model, then made group-writable: not trusted, trained.
    LexicalMatcher(_catalog("wifi is down"), kept_in=tmp_path / "elsewhere")
    [elsewhere] = _models(tmp_path / "elsewhere")
    kept.write_bytes(elsewhere.read_bytes())
    os.chmod(kept, 0o664)
    training._CACHE.clear()
    again = LexicalMatcher(_catalog(), kept_in=folder)
    assert again.phrase_count() == own  # its own catalog's phrases, trained again


def test_a_torn_model_is_trained_again(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    LexicalMatcher(_catalog(), kept_in=folder)
    [kept] = _models(folder)
    kept.write_bytes(pickle.dumps({"not": "a model"})[:5])
    training._CACHE.clear()
    again = LexicalMatcher(_catalog(), kept_in=folder)
    assert again.match("vpn keeps dropping").top.intent == "vpn"  # type: ignore[union-attr]
    assert pickle.loads(kept.read_bytes()).phrases == again._t.phrases  # written anew


def test_only_the_newest_models_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    for n in range(training.KEPT + 2):
        LexicalMatcher(_catalog(f"tunnel number {n} drops"), kept_in=folder)
    assert len(_models(folder)) == training.KEPT
