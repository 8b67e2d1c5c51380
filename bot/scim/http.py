"""The SCIM 2.0 endpoint over HTTP (aiohttp), served by `deskbot serve` on its own loop at
`directory.scim.listen`, under /scim/v2.

Every request needs `Authorization: Bearer <directory.scim.token>`; the token is compared in
constant time and never logged. The store's work runs in a thread so the loop that talks
to Slack and Telegram never waits on the database. After each change `on_change` runs (in a
thread, one at a time; changes that arrive meanwhile are folded into one more run): the
composition root makes it the directory sync, so the synced people file follows.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.base.clock import Clock
from bot.base.config import ScimSettings
from bot.scim.errors import ScimError
from bot.scim.schemas import KINDS, SCHEMAS, Kind, service_provider_config
from bot.scim.service import Query, Reply, Scim, parse_query
from store.db import Store, is_outage

log = logging.getLogger(__name__)

PREFIX = "/scim/v2"
MEDIA = "application/scim+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: dict[str, Any], status: int = 200, etag: str | None = None) -> web.Response:
    headers = {"ETag": etag} if etag else {}
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type=MEDIA,
        charset="utf-8",
        headers=headers,
    )


def _error(exc: ScimError) -> web.Response:
    response = _json(exc.document(), exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="deskbot-scim"'
    return response


class ScimServer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: ScimSettings,
        on_change: Callable[[], object] | None = None,
    ) -> None:
        self.settings = settings
        self.scim = Scim(store, clock, settings.max_results)
        self.on_change = on_change
        self._token = settings.token.encode("utf-8")
        self._runner: web.AppRunner | None = None
        self._pending = False
        self._syncing: asyncio.Task[None] | None = None
        self.url: str | None = None  # the endpoint's base URL once listening

    # --- lifecycle -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        add = app.router.add_route
        add("GET", f"{PREFIX}/ServiceProviderConfig", self.sp_config)
        add("GET", f"{PREFIX}/ResourceTypes", self.resource_types)
        add("GET", f"{PREFIX}/ResourceTypes/{{name}}", self.resource_type)
        add("GET", f"{PREFIX}/Schemas", self.schemas)
        add("GET", f"{PREFIX}/Schemas/{{urn}}", self.schema)
        add("POST", f"{PREFIX}/.search", self.search_all)
        for endpoint in KINDS:
            add("POST", f"{PREFIX}/{endpoint}/.search", self.search_posted)
            add("GET", f"{PREFIX}/{endpoint}", self.search)
            add("POST", f"{PREFIX}/{endpoint}", self.create)
            add("GET", f"{PREFIX}/{endpoint}/{{id}}", self.get)
            add("PUT", f"{PREFIX}/{endpoint}/{{id}}", self.replace)
            add("PATCH", f"{PREFIX}/{endpoint}/{{id}}", self.patch)
            add("DELETE", f"{PREFIX}/{endpoint}/{{id}}", self.delete)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        host, port = self.settings.listen
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}{PREFIX}"
        log.info("SCIM 2.0 endpoint on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.settled()

    async def settled(self) -> None:
        """Wait until the people file has followed every change made so far."""
        while self._syncing is not None:
            await asyncio.shield(self._syncing)

    # --- plumbing ------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode("utf-8"), self._token
        ):
            log.warning(
                "SCIM request refused: no valid bearer token (%s %s)", request.method, request.path
            )
            return _error(ScimError(401, "a valid bearer token is required"))
        try:
            response = await handler(request)
        except ScimError as exc:
            log.info(
                "SCIM %s %s -> %d %s", request.method, request.path, exc.status, exc.scim_type or ""
            )
            return _error(exc)
        except web.HTTPNotFound:
            return _error(ScimError(404, f"no such endpoint: {request.path}"))
        except web.HTTPMethodNotAllowed:
            return _error(ScimError(405, f"{request.method} is not supported on {request.path}"))
        except web.HTTPException as exc:  # e.g. 413: a body over aiohttp's 1 MiB
            return _error(ScimError(exc.status, exc.reason))
        except Exception as exc:
            if is_outage(exc):
                # The provider tries again later (Okta and Entra ID retry a 503).
                log.warning("SCIM %s %s: the database did not answer", request.method, request.path)
                return _error(ScimError(503, "the database is not reachable now; try again"))
            log.exception("SCIM %s %s failed", request.method, request.path)
            return _error(ScimError(500, "the request failed on the server; see its log"))
        log.debug("SCIM %s %s -> %d", request.method, request.path, response.status)
        return response

    def base(self, request: web.Request) -> str:
        if self.settings.url:
            return self.settings.url.rstrip("/")
        return f"{request.scheme}://{request.host}{PREFIX}"

    @staticmethod
    def kind(request: web.Request) -> Kind:
        endpoint = request.path[len(PREFIX) + 1 :].split("/")[0]
        return KINDS[endpoint]

    @staticmethod
    async def body(request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ScimError(400, "the body is not valid JSON", "invalidSyntax") from None

    def changed(self) -> None:
        """Run `on_change` soon; a change during a run makes one more run."""
        if self.on_change is None:
            return
        self._pending = True
        if self._syncing is None:
            self._syncing = asyncio.get_running_loop().create_task(self._sync())

    async def _sync(self) -> None:
        try:
            while self._pending:
                self._pending = False
                assert self.on_change is not None
                try:
                    await asyncio.to_thread(self.on_change)
                except Exception:
                    log.exception("syncing people after a SCIM change failed")
        finally:
            self._syncing = None

    # --- discovery -----------------------------------------------------------------------

    async def sp_config(self, request: web.Request) -> web.Response:
        return _json(service_provider_config(self.base(request), self.settings.max_results))

    async def resource_types(self, request: web.Request) -> web.Response:
        docs = [k.document(self.base(request)) for k in KINDS.values()]
        return _json(_listing(docs))

    async def resource_type(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = next((k for k in KINDS.values() if k.name == name), None)
        if found is None:
            raise ScimError(404, f"no resource type {name}")
        return _json(found.document(self.base(request)))

    async def schemas(self, request: web.Request) -> web.Response:
        return _json(_listing([s.document(self.base(request)) for s in SCHEMAS.values()]))

    async def schema(self, request: web.Request) -> web.Response:
        urn = request.match_info["urn"]
        found = SCHEMAS.get(urn)
        if found is None:
            raise ScimError(404, f"no schema {urn}")
        return _json(found.document(self.base(request)))

    # --- resources -----------------------------------------------------------------------

    def _query(self, request: web.Request) -> Query:
        return parse_query(dict(request.query))

    async def search(self, request: web.Request) -> web.Response:
        query = self._query(request)
        body = await asyncio.to_thread(
            self.scim.search, self.kind(request), self.base(request), query
        )
        return _json(body)

    async def _posted_query(self, request: web.Request) -> Query:
        """A SearchRequest body (RFC 7644 3.4.3) as the query string's parameters."""
        body = await self.body(request)
        if not isinstance(body, dict):
            raise ScimError(400, "the body is not a SearchRequest object", "invalidSyntax")
        params: dict[str, str] = {}
        for name in ("filter", "startIndex", "count"):
            if body.get(name) is not None:
                params[name] = str(body[name])
        for name in ("attributes", "excludedAttributes"):
            value = body.get(name)
            if isinstance(value, list):
                params[name] = ",".join(str(v) for v in value)
            elif isinstance(value, str):
                params[name] = value
        return parse_query(params)

    async def search_posted(self, request: web.Request) -> web.Response:
        query = await self._posted_query(request)
        body = await asyncio.to_thread(
            self.scim.search, self.kind(request), self.base(request), query
        )
        return _json(body)

    async def search_all(self, request: web.Request) -> web.Response:
        """POST /.search: every resource type at once, Users first."""
        query = await self._posted_query(request)
        base = self.base(request)
        found: list[dict[str, Any]] = []
        for kind in KINDS.values():
            found += await asyncio.to_thread(self.scim.matching, kind, base, query, False)
        return _json(self.scim.page(found, query))

    async def get(self, request: web.Request) -> web.Response:
        reply: Reply = await asyncio.to_thread(
            self.scim.get,
            self.kind(request),
            request.match_info["id"],
            self.base(request),
            self._query(request),
        )
        wanted = request.headers.get("If-None-Match")
        if wanted and reply.etag and reply.etag in {t.strip() for t in wanted.split(",")}:
            return web.Response(status=304, headers={"ETag": reply.etag})
        return _json(reply.body, etag=reply.etag)

    async def create(self, request: web.Request) -> web.Response:
        body = await self.body(request)
        reply = await asyncio.to_thread(
            self.scim.create, self.kind(request), body, self.base(request), self._query(request)
        )
        self.changed()
        response = _json(reply.body, 201, reply.etag)
        response.headers["Location"] = reply.body.get("meta", {}).get("location", "")
        return response

    async def replace(self, request: web.Request) -> web.Response:
        return await self._write(request, self.scim.replace)

    async def patch(self, request: web.Request) -> web.Response:
        return await self._write(request, self.scim.patch)

    async def _write(self, request: web.Request, write: Callable[..., Any]) -> web.Response:
        """PUT and PATCH: the same arguments, a people sync only when something changed
        (providers repeat themselves)."""
        body = await self.body(request)
        reply = await asyncio.to_thread(
            write,
            self.kind(request),
            request.match_info["id"],
            body,
            self.base(request),
            request.headers.get("If-Match"),
            self._query(request),
        )
        if reply.changed:
            self.changed()
        return _json(reply.body, etag=reply.etag)

    async def delete(self, request: web.Request) -> web.Response:
        await asyncio.to_thread(
            self.scim.delete,
            self.kind(request),
            request.match_info["id"],
            request.headers.get("If-Match"),
        )
        self.changed()
        return web.Response(status=204)


def _listing(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(docs),
        "startIndex": 1,
        "itemsPerPage": len(docs),
        "Resources": docs,
    }
