"""Guarded paths are matched on a normalised form, so no spelling of a path slips past."""

from __future__ import annotations

import pytest

from hookseal import ConfigurationError
from hookseal.paths import PathMatcher, normalise_path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/hooks", "/hooks"),
        ("/Hooks/", "/hooks"),
        ("//hooks///x", "/hooks/x"),
        ("\\hooks\\x", "/hooks/x"),
        ("/hooks/./x", "/hooks/x"),
        ("/a/../hooks", "/hooks"),
        ("/../../hooks", "/hooks"),
        ("/%68ooks", "/hooks"),
        ("/%2568ooks", "/hooks"),  # double encoding
        ("/x/%2e%2e/hooks", "/hooks"),
        ("/x%2f..%2fhooks", "/hooks"),
        ("/x%5c..%5chooks", "/hooks"),
        ("", "/"),
        ("/", "/"),
        ("/%ff", "/\ufffd"),
    ],
)
def test_normalise_path(raw: str, expected: str) -> None:
    assert normalise_path(raw) == expected


def test_prefix_matches_at_segment_boundaries() -> None:
    matcher = PathMatcher("/hooks")
    for path in ("/hooks", "/hooks/", "/hooks/github", "/HOOKS/x", "//hooks", "/a/../hooks/x"):
        assert matcher.matches(path), path
    for path in ("/hooksx", "/hook", "/", "/other/hooks"):
        assert not matcher.matches(path), path


def test_exact_patterns() -> None:
    matcher = PathMatcher(["=/hooks/stripe"])
    assert matcher.matches("/hooks/stripe")
    assert matcher.matches("/Hooks/Stripe/")
    assert not matcher.matches("/hooks/stripe/x")
    assert not matcher.matches("/hooks")


def test_several_spellings_any_guarded_means_guarded() -> None:
    """A middleware passes both path and raw_path: if either is guarded, the request is."""
    matcher = PathMatcher(["/hooks"])
    assert matcher.matches("/public", "/hooks/x")
    assert not matcher.matches("/public", "/other")
    assert not matcher.matches()


def test_none_guards_everything_and_root_prefix() -> None:
    assert PathMatcher(None).matches("/anything")
    assert PathMatcher(None).guards_everything
    assert PathMatcher("/").matches("/anything/at/all")


def test_callable_gets_the_normalised_path() -> None:
    seen: list[str] = []

    def decide(path: str) -> bool:
        seen.append(path)
        return path.startswith("/api/hooks")

    matcher = PathMatcher(decide)
    assert matcher.matches("/API//hooks/%2e/x")
    assert seen == ["/api/hooks/x"]
    assert not matcher.matches("/api/other")


@pytest.mark.parametrize("bad", [[], ["hooks"], ["=hooks"], [b"/hooks"], [5]])
def test_bad_patterns(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        PathMatcher(bad)  # type: ignore[arg-type]


def test_repr() -> None:
    assert repr(PathMatcher(None)) == "PathMatcher(all)"
    assert "/hooks" in repr(PathMatcher(["/hooks", "=/x"]))


# -- review: spellings a router sends to a guarded view ---------------------------------------


@pytest.mark.parametrize(
    "path", ["/hooks/..", "/hooks/%2e%2e", "/hooks/x/../..", "/hooks/%252e%252e", "/hooks/a/%2F.."]
)
def test_a_dot_dot_segment_cannot_climb_out_of_a_guarded_prefix(path: str) -> None:
    """Routers do not resolve '..': Starlette's '/hooks/{name}', Flask's '/hooks/<name>' and
    Django's 'hooks/<str:name>' all hand '/hooks/..' to the guarded view (name='..'), and
    uvicorn passes it through as sent. Resolving it away to '/' must not unguard it."""
    assert PathMatcher("/hooks").matches(path)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/hooks", "/hook\u017f/x"),  # LATIN SMALL LETTER LONG S
        ("/hooks", "/hoo\u212as/x"),  # KELVIN SIGN
        ("/invoices", "/\u0131nvoices/x"),  # LATIN SMALL LETTER DOTLESS I
        ("/invoices", "/\u0130nvoices/x"),  # LATIN CAPITAL LETTER I WITH DOT ABOVE
    ],
)
def test_case_folding_covers_what_a_case_insensitive_router_folds(pattern: str, path: str) -> None:
    """A router matching case-insensitively with Python's re (Django ``re_path(r"(?i)...")``)
    routes these non-ASCII spellings to the ASCII route; the guard must fold them the same way."""
    import re

    assert re.match("(?i)" + re.escape(pattern), path)  # the router sends it to the route
    assert PathMatcher(pattern).matches(path)


def test_remembered_decisions_stay_bounded_and_right() -> None:
    """Client-chosen paths fill the decision cache; it is emptied when full, never wrong."""
    from hookseal import paths

    matcher = PathMatcher(["/hooks"])
    for i in range(paths._CACHE_SIZE + 10):
        assert matcher.matches(f"/hooks/{i}")
        assert not matcher.matches(f"/other/{i}")
    assert len(matcher._cache) <= paths._CACHE_SIZE
    for _ in range(2):  # decided, then remembered: the same answers
        assert matcher.matches("/HOOKS/%2e/x")
        assert not matcher.matches("/hooksx")
    long = "/hooks/" + "a" * paths._CACHED_LENGTH
    assert matcher.matches(long)
    assert (long,) not in matcher._cache


def test_a_callable_is_asked_every_time() -> None:
    answers = iter([True, False])
    matcher = PathMatcher(lambda path: next(answers))
    assert matcher.matches("/x")
    assert not matcher.matches("/x")
