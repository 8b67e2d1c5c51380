"""`deskbot serve` runs the SCIM endpoint on `directory.scim.listen`: a real serve process
starts with nobody pushed yet, takes the identity provider's first pushes over HTTP and
writes the people file the desk loads, audited; the token never reaches its log."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot import checkup
from bot.app import build_desk, load_config
from bot.base.config import Settings
from bot.base.yamlfile import ProblemsError
from bot.serve import start_scim
from store import people_audit
from store.db import Store
from tests.configs import config_file
from tests.directory.scim_http import CORE_USER, TOKEN, running
from tests.directory.test_scim_sync import ROLES, _nobody_named, _ownerless


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, db_url: str, port: int) -> Path:
    changes = {
        **_nobody_named(),
        "paths": {
            "people": str(tmp_path / "none.csv"),
            "assets": str(tmp_path / "none.csv"),
            "cis": str(_ownerless(tmp_path)),
        },
        "database": {"url": db_url},
        "channels": {"slack": {"enabled": False}, "telegram": {"enabled": False}},
        "directory": {
            "scim": {
                "listen": f"127.0.0.1:{port}",
                "token": "${DESKBOT_SCIM_TOKEN}",
                "roles": ROLES,
            },
            "synced": str(tmp_path / "synced.csv"),
        },
    }
    changes["channels"]["console"] = {"enabled": False, "person": ""}
    return config_file(tmp_path, changes)


async def _post(url: str, path: str, body: object) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


@pytest.mark.slow
async def test_serve_takes_the_first_pushes_and_writes_the_people(
    db_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    config = _config(tmp_path, db_url, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DESKBOT_SCIM_TOKEN": TOKEN}
    env.pop("DATABASE_URL", None)
    if not db_url.startswith("sqlite"):
        upgrade = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "db", "upgrade", "--config", str(config), env=env
        )
        assert await upgrade.wait() == 0
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "-v", "serve", "--config", str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/scim/v2"
    synced = tmp_path / "synced.csv"
    try:
        for _ in range(600):  # the endpoint comes up once the (empty) desk is built
            try:
                status, user = await _post(
                    url,
                    "/Users",
                    {
                        "schemas": [CORE_USER],
                        "userName": "jo",
                        "displayName": "Jo Lee",
                        "emails": [{"value": "jo@corp.test", "primary": True}],
                    },
                )
                break
            except aiohttp.ClientConnectionError:
                assert serve.returncode is None, "serve stopped"
                await asyncio.sleep(0.1)
        assert status == 201, user
        status, _group = await _post(
            url, "/Groups", {"displayName": "it-admins", "members": [{"value": user["id"]}]}
        )
        assert status == 201
        for _ in range(300):
            if synced.exists() and "admin" in synced.read_text(encoding="utf-8"):
                break
            await asyncio.sleep(0.1)
        text = synced.read_text(encoding="utf-8")
        assert "jo,Jo Lee,jo@corp.test" in text and "employee;admin" in text
    finally:
        if serve.returncode is None:
            serve.send_signal(signal.SIGINT)
        assert serve.stdout is not None
        log = (await asyncio.wait_for(serve.stdout.read(), 60)).decode("utf-8", "replace")
        await asyncio.wait_for(serve.wait(), 60)
    assert serve.returncode == 0, log
    assert f"SCIM 2.0 endpoint on {url}" in log
    assert "directory synced: 1 added" in log  # the sync serve's own job runs
    assert TOKEN not in log
    store = Store(db_url)
    try:  # audited as pushed over SCIM
        with store.read() as session:
            events = people_audit.events(session=session, person_id="jo")
    finally:
        store.dispose()
    assert events and (events[0].kind, events[0].actor) == ("add", "scim")


async def test_a_taken_port_is_told_with_its_key(db_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, db_url, port)
        settings = load_config(config, {"DESKBOT_SCIM_TOKEN": TOKEN, "DATABASE_URL": db_url})
        desk = build_desk(settings, migrate=False)
        try:
            assert list(desk.directory) == []  # nobody pushed yet: an empty directory
            with pytest.raises(ProblemsError) as told:
                await start_scim(desk)
        finally:
            desk.store.dispose()
    [problem] = told.value.problems
    assert problem.field == "directory.scim.listen"
    assert f"cannot listen on 127.0.0.1:{port}" in problem.message


async def test_doctor_checks_the_scim_port(db_url: str, tmp_path: Path) -> None:
    def settings_on(port: int) -> Settings:
        return load_config(
            _config(tmp_path, db_url, port), {"DESKBOT_SCIM_TOKEN": TOKEN, "DATABASE_URL": db_url}
        )

    [free] = checkup.scim_listener(settings_on(_free_port()))
    assert free.ok and "free to listen on" in free.detail
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        [taken] = checkup.scim_listener(settings_on(other.getsockname()[1]))
    assert not taken.ok and "taken by another program" in taken.detail
    assert "directory.scim.listen" in taken.fix
    # deskbot itself already serving there is fine.
    async with running(db_url) as api:
        port = int(api.url.split(":")[2].split("/")[0])
        [ours] = await asyncio.to_thread(checkup.scim_listener, settings_on(port))
    assert ours.ok and "SCIM endpoint answers there" in ours.detail
