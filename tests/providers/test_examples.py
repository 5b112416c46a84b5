"""The example answers the tests feed are the seed pages' own, byte for byte where the pages
give JSON (tests/_provider_apis/examples/README.md says which parts are verbatim)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from _provider_apis import EXAMPLES, example

ROOT = Path(__file__).resolve().parents[2]


def _seeds() -> Path | None:
    candidates = [ROOT.parent / "shared" / "seeds", ROOT.parent.parent / "shared" / "seeds"]
    if os.environ.get("HOOKSEAL_SEEDS"):
        candidates.insert(0, Path(os.environ["HOOKSEAL_SEEDS"]))
    return next((c for c in candidates if (c / "README.md").is_file()), None)


SEEDS = _seeds()
needs_seeds = pytest.mark.skipif(SEEDS is None, reason="the seed pages are not beside this clone")


def page(name: str) -> str:
    assert SEEDS is not None
    return (SEEDS / name).read_text(encoding="utf-8")


@needs_seeds
def test_the_retail_example_is_the_pages_own() -> None:
    answer = example("retail-get-webhook-signatures.200.json").decode().rstrip("\n")
    assert answer in page("retail-get-webhook-signatures.txt")


@needs_seeds
def test_the_billing_examples_are_the_pages_own() -> None:
    text = page("billing-list-webhook-endpoints.txt")
    listing = json.loads(example("billing-list-webhook-endpoints.200.json"))
    assert f"Example: {json.dumps(listing['items'], separators=(',', ':'))}" in text
    token = listing["pagination"]["next_page_token"]
    assert f'Example: "{token}"' in text
    assert f"Example: {listing['pagination']['page_size']}" in text
    validation = json.loads(example("billing-list-webhook-endpoints.400.json"))
    assert f'Example: "{validation["message"]}"' in text
    assert f"Example: {json.dumps(validation['context'], separators=(',', ':'))}" in text
    for status in (401, 403):
        error = json.loads(example(f"billing-list-webhook-endpoints.{status}.json"))
        assert f'Enum: "{error["code"]}"' in text
        assert f'Example: "{error["message"]}"' in text


@needs_seeds
def test_the_composed_examples_use_the_pages_ids_and_fields() -> None:
    listing = json.loads(example("payments-list-webhook-secrets.200.json"))
    delete_page = page("payments-delete-webhook-secret.txt")
    assert listing["data"][0]["id"] in delete_page
    list_page = page("payments-list-webhook-secrets.txt")
    item = listing["data"][0]
    for field in [*listing, *item]:  # every member is one the page's field tables name
        assert f"\n{field}" in list_page or f"{field} -" in list_page, field
    assert (item["object"], listing["object"]) == ("webhook_secret", "list")
    deleted = json.loads(example("payments-delete-webhook-secret.200.json"))
    for field in deleted:
        assert f"\n{field} |" in delete_page, field
    integrator = page("integrator-update-webhook-secret.txt")
    for name in ("401", "404", "500"):
        document = json.loads(example(f"integrator-update-webhook-secret.{name}.json"))
        for member in document:
            assert member in integrator


def test_every_example_is_json_and_listed_in_the_readme() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    files = sorted(p.name for p in EXAMPLES.glob("*.json"))
    assert len(files) == 12
    for name in files:
        json.loads(example(name))
        stem = name.split(".")[0]
        assert stem in readme
