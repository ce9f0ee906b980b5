"""Content-Disposition of downloads: the key's file name, safely quoted and UTF-8 encoded."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from connector.api.disposition import attachment, file_name


def parsed_name(header: str) -> str | None:
    """The name a standard parser reads from `filename*` (which user agents prefer to
    `filename`, RFC 6266): `email` decodes the RFC 2231/8187 encoding."""
    message = EmailMessage()
    message["Content-Disposition"] = "attachment; " + header.split("; ", 2)[2]
    return message.get_filename()


def fallback_of(header: str) -> str:
    return header.split('filename="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("key", "name", "fallback"),
    [
        ("hello.txt", "hello.txt", "hello.txt"),
        ("reports/2026/summary final.pdf", "summary final.pdf", "summary final.pdf"),
        ("reports/2026/", "2026", "2026"),
        ("café/Résumé.docx", "Résumé.docx", "Resume.docx"),
        ("отчёт.pdf", "отчёт.pdf", "_____.pdf"),
        ("日本語.txt", "日本語.txt", "___.txt"),
        ('say "hi"; rm -rf.sh', 'say "hi"; rm -rf.sh', "say _hi__ rm -rf.sh"),
        ("a\\b%41.txt", "a\\b%41.txt", "a_b_41.txt"),
        ("line\r\nbreak\x00.txt", "line__break_.txt", "line__break_.txt"),
        ("evil\u202etxt.exe", "evil_txt.exe", "evil_txt.exe"),  # a bidi override
        ("/", "download", "download"),
    ],
)
def test_the_name_is_the_keys_last_segment_quoted_and_encoded(
    key: str, name: str, fallback: str
) -> None:
    header = attachment(key)
    assert header.startswith("attachment; ")
    assert file_name(key) == name
    assert fallback_of(header) == fallback
    assert parsed_name(header) == name
    assert header.isascii()
    assert all(c.isprintable() for c in header)
    assert header.count('"') == 2  # no quote of the name breaks out of the quoted fallback
    assert header.count(";") == 2  # nor a semicolon adds a parameter
