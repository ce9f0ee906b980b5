"""Object downloads are files, never pages of the connector's origin: an object stored as
text/html comes back with nosniff, `Content-Disposition: attachment` and a sandbox CSP."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from support.aws_world import connect_alice, headers
from support.oauth_world import CognitoWorld, Instance

from connector.api.disposition import attachment

PAGE = b"<!doctype html><script>fetch('/token').then(r => r.text()).then(steal)</script>"


@pytest.fixture
async def alice(world: CognitoWorld, replica: Instance) -> dict[str, str]:
    await connect_alice(world, replica)
    return headers(await world.key(replica, "s3:read"))


@pytest.mark.parametrize(
    ("key", "file_name"),
    [
        ("site/index.html", "index.html"),
        ("unicode/отчёт «итоги».html", "отчёт «итоги».html"),
        ('quotes/say "hi".html', 'say "hi".html'),
        ("semicolons/a;b; filename=evil.exe", "a;b; filename=evil.exe"),
        ("folder/", "folder"),
    ],
)
async def test_an_html_object_is_served_as_an_attachment_in_a_sandbox(
    replica: Instance, aws: dict[str, Any], alice: dict[str, str], key: str, file_name: str
) -> None:
    aws["s3"].put_object(Bucket="alice-data", Key=key, Body=PAGE, ContentType="text/html")
    answer = await replica.client.get(f"/s3/buckets/alice-data/objects/{quote(key)}", headers=alice)
    assert answer.status_code == 200, answer.text
    assert answer.content == PAGE
    assert answer.headers["content-type"] == "text/html"  # as stored, but never rendered:
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"] == "sandbox"
    disposition = answer.headers["content-disposition"]
    assert disposition == attachment(key)
    assert disposition.startswith('attachment; filename="')
    assert f"filename*=UTF-8''{quote(file_name, safe='')}" in disposition.replace("%2A", "*")


async def test_a_range_of_an_html_object_carries_the_same_headers(
    replica: Instance, aws: dict[str, Any], alice: dict[str, str]
) -> None:
    aws["s3"].put_object(Bucket="alice-data", Key="p.html", Body=PAGE, ContentType="text/html")
    answer = await replica.client.get(
        "/s3/buckets/alice-data/objects/p.html", headers={**alice, "Range": "bytes=0-9"}
    )
    assert answer.status_code == 206
    assert answer.content == PAGE[:10]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["content-disposition"].startswith('attachment; filename="p.html"')
