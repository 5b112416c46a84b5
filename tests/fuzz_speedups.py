"""Fuzz the C accelerator: the differential checks of test_speedups_differential, time-bounded.

    python tests/fuzz_speedups.py --module BUILD/hookseal/_speedups.*.so --seconds 60

``python3 dev.py fuzz`` (and ``dev.py test``) builds the extension with AddressSanitizer and
``HOOKSEAL_FUZZ`` (the parser then reads an exactly sized copy of each header value) and runs
this with libasan preloaded and ``PYTHONMALLOC=malloc``, so a read or write past any buffer
aborts the run. Unlike the test suite it draws fresh random examples every round, and every
round also checks C against Python, so a wrong answer fails it as surely as a memory error.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import importlib.util
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MUTATIONS = [0]
INTERESTING = b"0123456789abcdefABCDEF+/=,; \t\n\x0b\x00\x7f\x80\xffsha256Vv1"


def _load(path: Path) -> None:
    """Put the given build in place of hookseal._speedups, before hookseal is imported."""
    spec = importlib.util.spec_from_file_location("hookseal._speedups", path)
    if spec is None or spec.loader is None:
        sys.exit(f"not an extension module: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["hookseal._speedups"] = module
    spec.loader.exec_module(module)


def _checks(examples: int) -> list[Callable[[], None]]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sys.path.insert(0, str(HERE))
    import test_speedups_differential as d
    from hookseal.schemes import Signature

    fresh = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    schemes = st.sampled_from(d.SCHEMES)
    digests = st.lists(st.binary(min_size=32, max_size=32), max_size=3)

    @fresh
    @given(scheme=schemes, found=digests, data=st.data())
    def parse(scheme: Signature, found: list[bytes], data: st.DataObject) -> None:
        d.check_parse(scheme, data.draw(d.header_values(scheme, found)))

    @fresh
    @given(scheme=schemes, value=st.one_of(st.text(max_size=9000), st.binary(max_size=9000)))
    def parse_anything(scheme: Signature, value: str | bytes) -> None:
        d.check_parse(scheme, value)

    @fresh
    @given(scenario=d.scenarios())
    def decide(scenario: tuple[Signature, list[str | bytes], list[tuple[Any, Any]]]) -> None:
        d.check_requests(*scenario)

    @fresh
    @given(
        secret=d.secret_values,
        prefix=st.binary(max_size=200),
        chunks=st.lists(st.binary(max_size=3000), max_size=5),
    )
    def digest(secret: str | bytes, prefix: bytes, chunks: list[bytes]) -> None:
        from hookseal import _speedups

        key = secret.encode() if isinstance(secret, str) else secret
        expected = hmac.digest(key, prefix + b"".join(chunks), "sha256")
        fast = _speedups.HmacKey(key)
        assert fast.digest(prefix, b"".join(chunks)) == expected
        streaming = fast.start(prefix)
        for chunk in chunks:
            streaming.update(chunk)
        assert streaming.matches([expected[:31], expected])
        assert not streaming.matches([expected[:31], expected + b"!", b""])

    def mutate(seconds: float = 2.0) -> None:
        """Plain random mutations of valid values, many more per second than Hypothesis."""
        rng = random.Random()
        digest = bytes(range(32))
        tokens = [digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode()]
        seeds = [
            (scheme, separator.join(lead + token for token in group))
            for scheme in d.SCHEMES
            for lead in ("", scheme.prefix)
            for separator in (",", " ", ", ")
            for group in ([tokens[0]], [tokens[2]], tokens, tokens * 5 + tokens[:1])
        ]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            scheme, seed = rng.choice(seeds)
            raw = bytearray(seed.encode())
            for _ in range(rng.randint(1, 4)):
                at = rng.randint(0, len(raw))
                step = rng.randint(0, 3)
                if step == 0:
                    raw[at:at] = bytes([rng.choice(INTERESTING)])
                elif step == 1:
                    del raw[at : at + rng.randint(1, 3)]
                elif step == 2:
                    raw[at : at + 1] = bytes([rng.randint(0, 255)])
                else:
                    raw[at:at] = raw[rng.randint(0, len(raw)) :][: rng.randint(1, 70)]
            d.check_parse(scheme, bytes(raw))
            d.check_parse(scheme, raw.decode("latin-1"))  # as str (not ASCII when >= 0x80)
            MUTATIONS[0] += 1

    return [parse, parse_anything, decide, digest, mutate]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", type=Path, required=True, help="the built _speedups module")
    parser.add_argument("--seconds", type=float, default=60.0, help="time to fuzz for")
    parser.add_argument("--examples", type=int, default=50, help="examples per check a round")
    args = parser.parse_args(argv)
    _load(args.module)
    from hookseal import _accel

    if _accel._speedups is not sys.modules["hookseal._speedups"]:
        sys.exit("hookseal did not take the given build (stale ABI?)")
    checks = _checks(args.examples)
    deadline = time.monotonic() + args.seconds
    runs = 0
    while time.monotonic() < deadline:  # checked between runs: overshoots by one run at most
        checks[runs % len(checks)]()
        runs += 1
    print(
        f"fuzz: {runs} runs ({args.examples} Hypothesis examples or 2 s of random mutations, "
        f"{MUTATIONS[0]} mutated values); C and Python agreed on all"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
