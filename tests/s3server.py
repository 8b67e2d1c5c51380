"""A real S3-compatible server on 127.0.0.1 for the attachment store's tests: moto's server
mode (an HTTP server speaking the S3 REST API, objects kept in memory), reached through
boto3 exactly as a MinIO or AWS endpoint would be. Each test gets a bucket of its own."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bot.base.config import S3Settings, Settings

KEY_ID, SECRET = "AKIDTESTDESKBOT", "s3cr3t-never-in-a-log"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A moto server that a test may stop and start again on the same port (an outage)."""

    port: int
    server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self) -> object:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name="eu-west-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )

    def bucket(self) -> str:
        """A new, empty bucket of this test's own."""
        name = f"deskbot-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(  # type: ignore[attr-defined]
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        return name

    def keys(self, bucket: str) -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
        return sorted(item["Key"] for item in found.get("Contents", ()))


def s3_config(server: S3Server, bucket: str, **more: object) -> S3Settings:
    return S3Settings.model_validate(
        {
            "bucket": bucket,
            "endpoint_url": server.url,
            "region": "eu-west-1",
            "prefix": "deskbot/files",
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
            "addressing_style": "path",
            "timeout": "2s",
            **more,
        }
    )


def on_s3(settings: Settings, config: S3Settings) -> Settings:
    """`settings` with attachments kept in `config`'s bucket."""
    files = settings.attachments.model_copy(update={"store": "s3", "s3": config})
    return settings.model_copy(update={"attachments": files})


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One server for the session's tests (each worker process has its own)."""
    server = S3Server(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_s3_server() -> Iterator[S3Server]:
    """A server of this test's own, which it may stop and start (an outage)."""
    server = S3Server(free_port())
    server.start()
    yield server
    server.stop()
