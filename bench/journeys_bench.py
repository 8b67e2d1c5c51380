"""Catalog load time and knowledge-base search latency, against baselines in the same process.

Run: .venv/bin/python -m bench.journeys_bench

* Catalog load (23 services + 40 articles) with libyaml vs the pure-Python YAML loader,
  and a second load that reuses the parsed-template cache (what each test desk pays).
* Knowledge-base `answer()` per question vs a plain rapidfuzz `extractOne` over the same
  phrases (the cheapest possible search), on a fixed list of questions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process, utils

import bot.base.yamlfile
from bot.app import load_config
from bot.base.texts import Texts
from journeys import loader
from journeys.kb import load_kb

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "how do I reset my password",
    "how do i connect to the vpn from home",
    "How can I free up space in my mailbox?",
    "how do I clear a paper jam",
    "how do I add a printer",
    "打印机卡纸了怎么办",
    "怎么在手机上设置邮箱",
    "如何重置密码",
    "how does this work",
    "how do I get a new laptop",
]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    settings = load_config(ROOT / "config.yaml")
    texts = Texts()

    def load() -> object:
        return loader.load_catalog(settings, texts)

    def cold_load() -> object:
        loader._facts.cache_clear()
        return loader.load_catalog(settings, texts)

    fast = timed(cold_load, 5)
    warm = timed(load, 5)
    bot.base.yamlfile._Loader = yaml.SafeLoader  # the baseline: pure-Python YAML
    slow = timed(cold_load, 5)
    bot.base.yamlfile._Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    base = statistics.median(slow)
    print("catalog load (23 services, 40 articles), median of 5:")
    print(f"  pure-Python YAML, cold template cache: {base * 1000:7.1f} ms  (baseline)")
    print(
        f"  libyaml, cold template cache:          {statistics.median(fast) * 1000:7.1f} ms  "
        f"({statistics.median(fast) / base:.2f}x)"
    )
    print(
        f"  libyaml, warm template cache:          {statistics.median(warm) * 1000:7.1f} ms  "
        f"({statistics.median(warm) / base:.2f}x)"
    )

    kb = load_kb(ROOT / "content" / "kb")
    phrases = [utils.default_process(p) for a in kb for p in a.phrases()]
    answer = timed(lambda: [kb.answer(q, "en") for q in QUESTIONS], 20)
    plain = timed(
        lambda: [
            process.extractOne(utils.default_process(q), phrases, scorer=fuzz.token_set_ratio)
            for q in QUESTIONS
        ],
        20,
    )
    per_answer = statistics.median(answer) / len(QUESTIONS)
    per_plain = statistics.median(plain) / len(QUESTIONS)
    print(f"knowledge base ({len(kb)} articles, {len(phrases)} phrases), per question:")
    print(f"  rapidfuzz extractOne (baseline):       {per_plain * 1e6:7.0f} us")
    print(
        f"  KnowledgeBase.answer:                  {per_answer * 1e6:7.0f} us  "
        f"({per_answer / per_plain:.1f}x)"
    )


if __name__ == "__main__":
    main()
