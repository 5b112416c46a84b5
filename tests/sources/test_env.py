"""EnvSource: one secret, a comma-separated list, or JSON with ids and windows."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hookseal.sources import EnvSource, SourceError


def test_one_secret() -> None:
    fetched = EnvSource("WH", {"WH": "  s3cr3t-value\n"}).fetch()
    assert len(fetched.secrets) == 1
    assert next(iter(fetched.secrets)).reveal() == b"s3cr3t-value"


def test_comma_separated_list() -> None:
    fetched = EnvSource("WH", {"WH": "new-value, old-value,"}).fetch()
    assert [s.reveal() for s in fetched.secrets] == [b"new-value", b"old-value"]


def test_json_list_of_strings_and_objects_with_times() -> None:
    doc = [
        {"id": "k2", "value": "new-value", "not_before": "2026-01-01T00:00:00Z"},
        {"id": "k1", "secret": "old-value", "rotate_at": 1_800_000_000},
        {"id": "k0", "value": "older-value", "expires_at": "2026-02-01T00:00:00+01:00"},
        "plain-value",
    ]
    secrets = EnvSource("WH", {"WH": json.dumps(doc)}).fetch().secrets
    assert secrets.ids[:3] == ("k2", "k1", "k0")
    by_id = {s.id: s for s in secrets}
    assert by_id["k2"].not_before == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    assert by_id["k1"].expires_at == 1_800_000_000
    assert (
        by_id["k0"].expires_at == dt.datetime(2026, 1, 31, 23, tzinfo=dt.timezone.utc).timestamp()
    )


def test_json_object_with_secrets_key() -> None:
    doc = {"secrets": [{"id": "k1", "value": "v-value", "expires_at": "1800000000"}]}
    assert EnvSource("WH", {"WH": json.dumps(doc)}).fetch().secrets.get("k1") is not None


@pytest.mark.parametrize("environ", [{}, {"WH": ""}, {"WH": "  "}, {"WH": ","}])
def test_missing_or_empty_names_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(SourceError, match="WH"):
        EnvSource("WH", environ).fetch()


@pytest.mark.parametrize(
    "raw",
    [
        '[{"id": "k1", "value": "leaky-value"',  # truncated JSON
        '[{"id": "k1", "value": "leaky-value", "expire_at": 1}]',  # misspelt key
        '[{"id": "k1", "value": "leaky-value", "rotate_at": "tomorrow"}]',
        '[{"id": "k1", "value": "leaky-value", "rotate_at": "2026-01-01T00:00:00"}]',  # naive
        '[{"id": "k1", "value": "leaky-value", "secret": "leaky-value"}]',
        '[{"id": "k1", "value": 5}]',
        '[{"id": "k1", "value": "leaky-value"}, {"id": "k1", "value": "leaky-value2"}]',
        '{"keys": []}',
        "[1]",
        "[" * 100_000,  # nested deeper than the json module can read
    ],
)
def test_bad_json_is_a_source_error_without_the_value(raw: str) -> None:
    with pytest.raises(SourceError) as caught:
        EnvSource("WH", {"WH": raw}).fetch()
    assert "leaky" not in str(caught.value)
    assert "WH" in str(caught.value)


def test_duplicate_in_comma_list_is_refused_without_the_value() -> None:
    with pytest.raises(SourceError) as caught:
        EnvSource("WH", {"WH": "same-value,same-value"}).fetch()
    assert "same-value" not in str(caught.value)


def test_reads_os_environ_each_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    source = EnvSource("HOOKSEAL_TEST_SECRET")
    monkeypatch.setenv("HOOKSEAL_TEST_SECRET", "first-value")
    assert next(iter(source.fetch().secrets)).reveal() == b"first-value"
    monkeypatch.setenv("HOOKSEAL_TEST_SECRET", "second-value")
    assert next(iter(source.fetch().secrets)).reveal() == b"second-value"


async def test_afetch() -> None:
    assert len((await EnvSource("WH", {"WH": "a-value,b-value"}).afetch()).secrets) == 2
