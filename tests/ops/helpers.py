"""Reading deskbot's HTTP endpoints in tests: real requests, /metrics parsed with
prometheus_client's own text parser."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(url: str) -> tuple[int, Any]:
    """(status, body): JSON when the endpoint answers JSON, else the text."""
    # A bounded wait: an endpoint whose loop is blocked accepts the connection and never
    # answers.
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def scrape(base: str) -> Samples:
    """Every sample /metrics shows, by name and labels."""
    status, text = await get(f"{base}/metrics")
    assert status == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when it is not there (a counter that never moved)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(check: Callable[[], Awaitable[bool]], tries: int = 600) -> None:
    """Wait until `check()` is true, asking every 50 ms; fails after `tries` asks."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not so after {tries} tries")
