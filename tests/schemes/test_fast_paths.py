"""The short paths for plain dicts must decide exactly like the careful path for pair lists.

Every scheme is parsed twice from the same header values, once as a plain dict (which may take
a scheme's short path) and once as a list of pairs (which never does); both must give the same
proof or fail with the same error class. Values are mutated towards the edge cases a short
path could get wrong: extra separators, whitespace, non-ASCII digits, wrong lengths.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hookseal import VerificationError, schemes, sign
from hookseal.schemes import Presented, Scheme

SCHEMES: list[Scheme] = [
    schemes.Signature(),
    schemes.GitHub(),
    schemes.StandardWebhooks(),
    schemes.Stripe(),
    schemes.Slack(),
    schemes.Shopify(),
    # the data-driven providers whose short path reads one bare HMAC header, and a few others
    *(s for s in schemes.catalogue.RECORDS if s.key in ("hmac", "token")),
]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

EDGES = st.sampled_from(
    [
        " ",
        ",",
        "=",
        ".",
        "v1=",
        ",v1=",
        "t=",
        "v0=",
        "v1,",
        "\t",
        "\u0661",
        "\u00b2",
        "\u00e9",
        "0",
        "f",
        "==",
    ]
)


def mutate(value: str, cut: int, insert: str, drop: int) -> str:
    at = cut % (len(value) + 1)
    return value[:at] + insert + value[at + drop % 3 :]


def outcome(scheme: Scheme, headers: object) -> tuple[str, object]:
    try:
        presented: Presented = scheme.parse(headers)  # type: ignore[arg-type]
    except VerificationError as error:
        return ("error", type(error))
    return (
        "ok",
        (
            presented.prefix,
            presented.hmac_signatures,
            presented.ed25519_signatures,
            presented.timestamp,
            presented.message_id,
        ),
    )


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    scheme=st.sampled_from(SCHEMES),
    which=st.integers(min_value=0, max_value=2),
    cut=st.integers(min_value=0, max_value=200),
    insert=st.one_of(EDGES, st.text(max_size=3)),
    drop=st.integers(min_value=0, max_value=2),
)
def test_dict_and_pairs_decide_alike(
    scheme: Scheme, which: int, cut: int, insert: str, drop: int
) -> None:
    headers = sign(b'{"a":1}', SECRET, scheme=scheme, timestamp=1_700_000_000, message_id="m_1")
    names = list(headers)
    name = names[which % len(names)]
    headers[name] = mutate(headers[name], cut, insert, drop)
    as_dict = outcome(scheme, dict(headers))
    as_pairs = outcome(scheme, list(headers.items()))
    assert as_dict == as_pairs


def test_unmutated_headers_take_the_same_decision() -> None:
    for scheme in SCHEMES:
        headers = sign(b"{}", SECRET, scheme=scheme, timestamp=1_700_000_000, message_id="m_1")
        assert outcome(scheme, dict(headers)) == outcome(scheme, list(headers.items()))
        assert outcome(scheme, dict(headers))[0] == "ok"
