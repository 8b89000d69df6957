"""``redact_secrets`` and the tool-source labels built on it: what must be masked, and what must stay as written."""

from __future__ import annotations

import sys

import pytest

from toolkit.errors import UserError
from toolkit.sources import parse_source, redact_secrets

GHP = "ghp_" + "a1B2" * 9  # the shapes of real keys, made up
PAT = "github_pat_11ABCDEFG0" + "x" * 60
HF = "hf_" + "AbCd" * 8 + "Ef"


@pytest.mark.parametrize(("text", "expected"), [
    # URLs: userinfo and query
    ("see https://bob:hunter2@example.com/doc?token=abc", "see https://***@example.com/doc?***"),
    # NAME=VALUE with a secret-looking name, quoted or not, any case
    ("env API_TOKEN=ghp_SECRET123 python server.py", "env API_TOKEN=*** python server.py"),
    ("OPENAI_API_KEY=abc123 AWS_SECRET_ACCESS_KEY=w DB_PASSWORD=q",
     "OPENAI_API_KEY=*** AWS_SECRET_ACCESS_KEY=*** DB_PASSWORD=***"),
    ("apiKey=zzz authToken=yyy PGPASSWORD=p client_credentials=c",
     "apiKey=*** authToken=*** PGPASSWORD=*** client_credentials=***"),
    ("env API_TOKEN='a b' 'SECRET=c d' TOKEN=e\\ f x", "env API_TOKEN=*** 'SECRET=***' TOKEN=*** x"),
    ("token=abc&x=1", "token=***"),
    # --flag VALUE and --flag=VALUE
    ("server --api-key sk-live-456 --token=abc123 --Password hunter2",
     "server --api-key *** --token=*** --Password ***"),
    ("gh --auth-token 'a b' run", "gh --auth-token *** run"),
    # Authorization headers, Bearer and Basic
    ("Authorization: Bearer sk-abc", "Authorization: Bearer ***"),
    ("curl -H 'authorization: token deadbeef42' x", "curl -H 'authorization: token ***' x"),
    ("send bearer eyJhbGciOi.eyJzdWIiOi.sig to it", "send bearer *** to it"),
    ("Basic dXNlcjpwYXNz", "Basic ***"),
    # well-known key shapes, masked after their public prefix
    (f"key {GHP} and {PAT}", "key ghp_*** and github_pat_***"),
    ("sk-proj-abcdef0123456789XYZ sk-ant-api03-abcdefghij", "sk-*** sk-***"),
    ("xoxb-1234-5678-abcdefgh xoxp-99999-abcdefghij", "xoxb-*** xoxp-***"),
    (f"AKIAIOSFODNN7EXAMPLE ASIAIOSFODNN7EXAMPLE {HF}", "AKIA*** ASIA*** hf_***"),
])
def test_secrets_of_each_shape_are_masked(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected
    assert redact_secrets(expected) == expected, "redacting twice changes nothing"


@pytest.mark.parametrize("text", [
    "stdio:/usr/bin/python -m mcp_server_time --local-timezone UTC",
    "python -m http.server --port 8000 --bind 127.0.0.1 --no-auth server.py",
    "server --token-file /etc/token --key-path ~/.ssh/id --password-stdin --api-key-env OPENAI_API_KEY",
    "author=Bob monkey=banana keyboard=us max_tokens=100 TOKENIZERS_PARALLELISM=false a=b x == y",
    "Basic arithmetic and a basic set-up; the bearer of bad news; Bearer tokens are short-lived.",
    "Authorization: required for every call. The token is a secret; keep the key safe.",
    "use sk-learn, hf_hub_download, task-1234567890abcdefghij, ghp_short and AKIA alone",
    '{"expression": "1 + 1", "order_id": "A-1002", "date": "2024-05-01"}',
    "https://example.com/docs/page#anchor",
    "",
])
def test_ordinary_text_and_commands_are_unchanged(text: str) -> None:
    assert redact_secrets(text) == text


def test_redaction_stays_linear_on_long_adversarial_input() -> None:
    import time

    started = time.perf_counter()
    for text in ("a=" * 50_000, "-" * 100_000, "--a " * 25_000, "sk-" + "-" * 100_000, "\\" * 100_000,
                 "TOKEN=" + "\\" * 50_000, "Bearer " * 15_000, "Authorization: " * 10_000, "x.y." * 25_000 + "="):
        redact_secrets(text)
    assert time.perf_counter() - started < 5


def test_a_stdio_source_keeps_its_real_command_but_shows_only_the_masked_label() -> None:
    source = parse_source(f"stdio:env API_TOKEN=s3cret {sys.executable} server.py --api-key k3y")
    assert source.target == "env"  # what runs is the command as written
    assert source.args == ("API_TOKEN=s3cret", sys.executable, "server.py", "--api-key", "k3y")
    assert source.label == f"stdio:env API_TOKEN=*** {sys.executable} server.py --api-key ***"
    toolset = source.make()
    assert toolset.name == source.label
    assert "s3cret" not in repr(source) + repr(toolset) and "k3y" not in repr(source) + repr(toolset)


def test_a_source_that_cannot_be_parsed_does_not_echo_its_secrets() -> None:
    with pytest.raises(UserError) as caught:
        parse_source("stdio:env API_TOKEN=s3cret 'python")
    assert "s3cret" not in str(caught.value) and "API_TOKEN=***" in str(caught.value)
