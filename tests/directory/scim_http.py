"""A SCIM endpoint on 127.0.0.1 for tests (bot/scim/http.py on the test's own loop, on a
real database) and a small client that speaks to it over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict

from bot.base.clock import SystemClock
from bot.base.config import ScimSettings
from bot.scim.http import ScimServer
from store.db import Store

TOKEN = "test-scim-token-0123456789abcdef"
MEDIA = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDict[str]  # names without case


@dataclass
class Api:
    url: str
    http: aiohttp.ClientSession
    server: ScimServer

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Content-Type": MEDIA, "Accept": MEDIA, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.http.request(
            method, self.url + path, json=body, headers=sent, params=params
        ) as response:
            text = await response.text()
            parsed = json.loads(text) if text else None
            return Answer(response.status, parsed, CIMultiDict(response.headers))

    async def user(self, user_name: str, **extra: Any) -> dict[str, Any]:
        answer = await self.call(
            "POST", "/Users", {"schemas": [CORE_USER], "userName": user_name, **extra}
        )
        assert answer.status == 201, answer.body
        body: dict[str, Any] = answer.body
        return body

    async def patch(self, path: str, *operations: dict[str, Any]) -> Answer:
        return await self.call(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}
        )


@asynccontextmanager
async def running(
    db_url: str,
    on_change: Callable[[], object] | None = None,
    settings: ScimSettings | None = None,
    busy_timeout: float = 30.0,
) -> AsyncIterator[Api]:
    store = Store(db_url, busy_timeout=busy_timeout)
    cfg = settings or ScimSettings(listen=("127.0.0.1", 0), token=TOKEN, max_results=50)
    server = ScimServer(store, SystemClock(), cfg, on_change)
    await server.start()
    assert server.url is not None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            yield Api(server.url, http, server)
    finally:
        await server.stop()
        store.dispose()
