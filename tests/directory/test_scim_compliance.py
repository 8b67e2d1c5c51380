"""The SCIM endpoint checked by an independent compliance tester (the `scim2-tester`
package): discovery, then create, read, replace, PATCH add / replace / remove of every
attribute /Schemas publishes, searches and deletes of Users and Groups, over real HTTP."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.directory.scim_http import TOKEN, running


def _check(url: str) -> list[Any]:
    # The tester and its client take about half a second to import (two seconds of CPU on
    # a busy machine): only the test-runner process that runs this test pays for them.
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import check_server

    with httpx2.Client(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        return check_server(SyncSCIMClient(http))


async def test_scim2_tester_finds_no_fault(db_url: str) -> None:
    async with running(db_url) as api:
        # The tester's client is synchronous: it runs in a thread while the endpoint
        # answers on this loop.
        results = await asyncio.to_thread(_check, api.url)
    counts = Counter(r.status.name for r in results)
    passed = {"SUCCESS", "COMPLIANT", "ACCEPTABLE"}  # scim2_tester's Status names
    failed = [
        f"{r.status.name} {r.title} {r.resource_type}: {r.reason}"
        for r in results
        if r.status.name not in passed
    ]
    assert not failed, "\n".join(failed)
    # Every family of checks ran, for both resource types (nothing was skipped).
    titles = {r.title or "" for r in results}
    for check in (
        "check_add_attribute",
        "check_replace_attribute",
        "check_remove_attribute",
        "object_creation",
        "object_query",
        "object_replacement",
        "object_deletion",
        "search_with_attributes",
    ):
        assert check in titles, (check, sorted(titles))
    assert {r.resource_type for r in results} >= {"User", "Group"}
    assert counts["SUCCESS"] >= 100, counts
