"""A real OpenLDAP server for the tests: slapd on 127.0.0.1 and a free port, with its own
configuration and database in a temporary folder, loaded from an LDIF with slapadd.

Debian's `slapd` package provides it (scripts/test installs it when missing). When it is
missing or will not start the tests fail saying so: a skip would hide an untested feature.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ACCESSLOG = "cn=accesslog"


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.fail(
            f"{name} is not installed: the LDAP tests need a real OpenLDAP server "
            "(apt-get install slapd ldap-utils; scripts/test does it)",
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Slapd:
    url: str
    admin_dn: str
    password: str
    ldaps: str = ""  # ldaps://127.0.0.1:PORT when started with a certificate


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, made with openssl (the certificate is its own CA)."""
    cert, key = folder / "server.pem", folder / "server.key"
    made = subprocess.run(
        [
            _binary("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate:\n{made.stderr}", pytrace=False)
    return cert, key


def _wait_for(proc: subprocess.Popen[str], port: int, url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"slapd did not start:\n{err}", pytrace=False)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"slapd did not listen on {url} within 20 s", pytrace=False)
            time.sleep(0.05)


@contextmanager
def running_slapd(
    folder: Path,
    ldif: str,
    password: str,
    schemas: tuple[str, ...] = (),
    sizelimit: str = "",
    tls: tuple[Path, Path] | None = None,
    maxsize: int = 100 * 1024 * 1024,
    accesslog: bool = False,
    indexes: tuple[str, ...] = (),
) -> Iterator[Slapd]:
    """slapd serving `ldif`; `sizelimit` is slapd.conf's (e.g. a server that returns at most
    5 entries to a search unless it is paged); `maxsize` is the database's size limit in bytes
    (the benchmark's 50,000 people need more than the tests' default); `accesslog`: every
    successful write is logged under `ACCESSLOG` (slapo-accesslog, as an admin sets it up
    for delta replication), readable by anyone who may read the directory; `indexes`:
    slapd.conf `index` lines of the directory's database (e.g. `modifyTimestamp eq`)."""
    slapd, slapadd = _binary("slapd"), _binary("slapadd")
    (folder / "db").mkdir(parents=True)
    log_db: list[str] = []
    if accesslog:
        (folder / "log").mkdir()
        log_db = [
            "moduleload accesslog",
            "database mdb",
            f'suffix "{ACCESSLOG}"',
            f'rootdn "{ADMIN_DN}"',
            f"directory {folder / 'log'}",
            f"maxsize {maxsize}",
            "index reqStart eq",
        ]
    includes = ("core", "cosine", "inetorgperson", *schemas)
    conf = folder / "slapd.conf"
    conf.write_text(
        "\n".join(
            [
                *(f"include {SCHEMAS / name}.schema" for name in includes),
                f"pidfile {folder / 'slapd.pid'}",
                f"sizelimit {sizelimit}" if sizelimit else "",
                f"TLSCertificateFile {tls[0]}" if tls else "",
                f"TLSCertificateKeyFile {tls[1]}" if tls else "",
                f"modulepath {MODULES}",
                "moduleload back_mdb",
                *log_db,
                "database mdb",
                f'suffix "{SUFFIX}"',
                f'rootdn "{ADMIN_DN}"',
                f"rootpw {password}",
                f"directory {folder / 'db'}",
                f"maxsize {maxsize}",
                *(f"index {index}" for index in indexes),
                *(
                    [
                        "overlay accesslog",
                        f"logdb {ACCESSLOG}",
                        "logops writes",
                        "logsuccess TRUE",
                        "logpurge 07+00:00 01+00:00",
                    ]
                    if accesslog
                    else []
                ),
                "",
            ]
        ),
        encoding="utf-8",
    )
    data = folder / "data.ldif"
    data.write_text(ldif, encoding="utf-8")
    loaded = subprocess.run(
        [slapadd, "-q", "-f", str(conf), "-b", SUFFIX, "-l", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if loaded.returncode != 0:
        pytest.fail(f"slapadd could not load the test LDIF:\n{loaded.stderr}", pytrace=False)
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    listen = f"{url}/"
    if tls:  # LDAPS too, on the next free port
        ldaps_port = _free_port()
        listen += f" ldaps://127.0.0.1:{ldaps_port}/"
    proc = subprocess.Popen(
        [slapd, "-f", str(conf), "-h", listen, "-d", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(proc, port, url)
        ldaps = f"ldaps://127.0.0.1:{ldaps_port}" if tls else ""
        if tls:
            _wait_for(proc, ldaps_port, ldaps)
        yield Slapd(url, ADMIN_DN, password, ldaps)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
