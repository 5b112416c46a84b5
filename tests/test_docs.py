"""Every code block of the README and of the documentation site runs as written, once, and
what the pages claim about the tests stays true.

How blocks are run (write docs pages to these rules; the markers are HTML comments on the line
before a fence, invisible on GitHub and on the site):

- ```` ```python ```` blocks of README.md and of every ``docs/**/*.md`` page run in a fresh
  Python process per page (``-W error``), in order, as the ``__main__`` module: a later block
  may use what an earlier one defined, as a reader would expect. The working directory is an empty
  temporary one. A page that writes ``redis://localhost:6379`` gets a throwaway redis-server's
  address there instead. The pages about secrets (``docs/secrets/``) close what they start:
  no ``hookseal-*`` thread of a keyring may be left once their last block has run.
- ``<!-- run-by: tests/<path>.py -->``: the block needs live parts that a dedicated test sets
  up (the imitation provider APIs of ``tests/_provider_apis``, a clone's ``benchmarks``
  package on the path...), so that test file runs it, with ``_markdown.run_by(page, test)``,
  and this file does not: each block runs exactly once in the suite. Today:
  ``tests/sources/test_sources_docs.py`` (the provider APIs of docs/secrets/sources.md) and
  ``tests/benchmarks/test_benchmarks_page.py`` (docs/guides/benchmarks.md). A run-by block
  is checked here to name a test file that exists and reads its page.
- Shell blocks of README.md (```` ```sh ````, ``bash``, ``shell``, ``console``) and ```` ```sh ````
  blocks of docs pages run in ``bash -e``, one process per block, as pasted into a fresh shell
  (no virtualenv active) from a clone: the working directory holds ``.venv``, ``dev.py`` and
  ``examples`` of this clone and nothing else.
- ``<!-- server -->``: the block serves until stopped. It runs in the background with ``PORT`` set
  to a free port (and ``:8000`` in it and in the next block replaced by that port) until the port
  accepts connections; it is stopped once the next block has run.
- ``<!-- expect-exit: N -->``: the block's last command exits with status N (a refusal, say).
- ``<!-- output -->`` on a ```` ```text ```` block right after a code block: every line of it
  appears in what that block printed, so documented output stays true.
- ``<!-- not-run: why -->``: shown, not run. In the README only for ``python3 dev.py test``
  (this suite is part of it); in docs pages for commands that need a provider's API or take
  minutes (say which test covers them instead).

And what the pages claim: every test a page or the README names (``tests/x.py`` or
``tests/x.py::test_name``) exists, so a guarantee cannot outlive the test that proves it; and
``python3 dev.py docs`` (``mkdocs build --strict``) fails on a page left out of the nav or a
broken link (``validation`` in mkdocs.yml).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path

import dev
import pytest

from _markdown import Block, blocks
from _redis_server import redis_server

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
VENV = ROOT / ".venv"
SHELL_IN_README = {"sh", "bash", "shell", "console"}
BLOCK_TIMEOUT = 300.0
SEPARATOR = "\0hookseal-docs-block\0"
REDIS_PLACEHOLDER = "redis://localhost:6379"


def python_blocks(page: Path) -> list[Block]:
    """The Python blocks this file runs: not those shown only, nor those another test runs."""
    return [
        b
        for b in blocks(page)
        if b.language in ("python", "py") and b.marker not in ("not-run", "run-by")
    ]


def shell_blocks(page: Path) -> list[Block]:
    languages = SHELL_IN_README if page == README else {"sh"}
    return [b for b in blocks(page) if b.language in languages]


def expected_output(page: Path, block: Block) -> list[str]:
    """The lines of a ``<!-- output -->`` text block right after ``block``, if there is one."""
    found = blocks(page)
    index = found.index(block)
    if index + 1 < len(found) and found[index + 1].marker == "output":
        return [line for line in found[index + 1].code.splitlines() if line.strip()]
    return []


PYTHON_PAGES = [p for p in (README, *PAGES) if python_blocks(p)]


def test_a_block_that_is_not_run_says_why() -> None:
    for page in (README, *PAGES):
        for block in blocks(page):
            if block.marker == "not-run":
                assert block.reason, f"{block.where}: say why the block is not run"


def test_a_block_run_elsewhere_names_a_test_that_reads_its_page() -> None:
    found = 0
    for page in (README, *PAGES):
        for block in blocks(page):
            if block.marker != "run-by":
                continue
            found += 1
            test = ROOT / block.reason
            assert block.language in ("python", "py"), f"{block.where}: run-by is for Python"
            assert test.is_file(), f"{block.where}: no test file {block.reason}"
            text = test.read_text(encoding="utf-8")
            assert "run_by(" in text, f"{block.where}: {block.reason} never calls run_by"
            assert page.name in text, f"{block.where}: {block.reason} does not read {page.name}"
    assert found >= 5


def test_the_readme_and_the_docs_have_blocks_to_run() -> None:
    assert len(python_blocks(README)) >= 4
    assert len(shell_blocks(README)) >= 3
    assert len(PYTHON_PAGES) >= 8


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=[str(p.relative_to(ROOT)) for p in PYTHON_PAGES])
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    chosen = python_blocks(page)
    with ExitStack() as stack:
        codes = [block.code for block in chosen]
        if any(REDIS_PLACEHOLDER in code for code in codes):
            url = stack.enter_context(redis_server()).rsplit("/", 1)[0]
            codes = [code.replace(REDIS_PLACEHOLDER, url) for code in codes]
        runner = tmp_path / "run_blocks.py"
        runner.write_text(_runner(chosen, codes), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-W", "error", str(runner)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
    assert done.returncode == 0, f"a block of {page.name} failed:\n{done.stdout}\n{done.stderr}"
    printed = done.stdout.split(SEPARATOR)[1:]
    assert len(printed) == len(chosen)
    for block, out in zip(chosen, printed, strict=True):
        for line in expected_output(page, block):
            assert line in out, f"{block.where}: {line!r} not printed; got:\n{out}"


def _runner(chosen: list[Block], codes: list[str]) -> str:
    """A script that runs each block in one shared namespace, naming the block on failure (and,
    for a page about secrets, failing when a keyring's thread is left)."""
    sources = [(block.where, code) for block, code in zip(chosen, codes, strict=True)]
    closes = bool(chosen) and chosen[0].page.parent == ROOT / "docs" / "secrets"
    return textwrap.dedent(
        f"""
        import sys
        import threading
        for _where, _code in {sources!r}:
            print({SEPARATOR!r}, end="", flush=True)
            exec(compile(_code, _where, "exec"), vars(sys.modules["__main__"]))
            sys.stdout.flush()
        for _thread in threading.enumerate() if {closes!r} else ():
            if _thread.name.startswith("hookseal"):
                _thread.join(10)
                if _thread.is_alive():
                    sys.exit(f"the page's blocks left a thread running: {{_thread.name}}")
        """
    )


# -- shell blocks ---------------------------------------------------------------------------------


def _managed_venv() -> bool:
    """Whether this suite runs from the .venv that dev.py set up with the dev extra, for the
    current build inputs (so the README's dev.py commands have nothing to install). dev.py's
    own record is the reference: a digest of pyproject.toml alone stopped matching its stamp
    once the C sources became build inputs, and every shell block was skipped silently."""
    return Path(sys.prefix).resolve() == VENV.resolve() and "dev" in dev.installed()


SHELL_PAGES = [p for p in (README, *PAGES) if shell_blocks(p)]


@pytest.mark.skipif(
    not _managed_venv(),
    reason="needs the .venv that `python3 dev.py test` set up for this pyproject.toml",
)
@pytest.mark.parametrize("page", SHELL_PAGES, ids=[str(p.relative_to(ROOT)) for p in SHELL_PAGES])
def test_shell_blocks_run_in_a_fresh_shell(page: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in (".venv", "dev.py", "examples"):
        (clone / name).symlink_to(ROOT / name)
    env = _fresh_shell_env()
    server: subprocess.Popen[bytes] | None = None
    port: int | None = None
    for block in shell_blocks(page):
        if block.marker == "not-run":
            assert block.reason, f"{block.where}: say why the block is not run"
            if page == README:
                assert block.code.strip().startswith("python3 dev.py test"), block.where
            continue
        code = block.code if port is None else block.code.replace(":8000", f":{port}")
        if block.marker == "server":
            port = _free_port()
            code = block.code.replace(":8000", f":{port}")
            server = _start_server(code, clone, dict(env, PORT=str(port)), port, block)
            continue
        try:
            done = _run_shell(code, clone, env, block)
        finally:
            if server is not None:
                _stop(server)
                server, port = None, None
        for line in expected_output(page, block):
            assert line in done.stdout, f"{block.where}: {line!r} not printed:\n{done.stdout}"


def _fresh_shell_env() -> dict[str, str]:
    """The environment of a new shell: no virtualenv active, nothing of this test run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PYTHON", "PYTEST", "HOOKSEAL", "WEBHOOK"))
    }
    paths = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in paths if p and not p.startswith(str(VENV)))
    return env


def _run_shell(
    code: str, cwd: Path, env: dict[str, str], block: Block
) -> subprocess.CompletedProcess[str]:
    expected = int(block.reason) if block.marker == "expect-exit" else 0
    done = subprocess.run(
        ["bash", "-c", code] if expected else ["bash", "-e", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    assert done.returncode == expected, (
        f"{block.where} exited {done.returncode}, expected {expected}:\n"
        f"{code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(
    code: str, cwd: Path, env: dict[str, str], port: int, block: Block
) -> subprocess.Popen[bytes]:
    log = cwd / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", code], cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while not _accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"{block.where}: the server did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (we started it in a session of its own)."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# -- what the pages say about the tests and the site ----------------------------------------------

TEST_ID = re.compile(r"\btests/[\w/]+\.py(?:::\w+)*")


def _defines(path: Path, names: list[str]) -> bool:
    """Whether ``path`` defines the test ``names`` (a function, or a class then a method) the
    way pytest collects it."""
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for number, name in enumerate(names):
        last = number == len(names) - 1
        wanted = (ast.FunctionDef, ast.AsyncFunctionDef) if last else (ast.ClassDef,)
        found = next((n for n in scope if isinstance(n, wanted) and n.name == name), None)
        if found is None or not name.startswith("test" if last else "Test"):
            return False
        scope = found.body
    return True


def test_every_test_the_readme_and_the_docs_name_exists() -> None:
    missing, named = [], 0
    for page in (README, *PAGES):
        for ref in sorted(set(TEST_ID.findall(page.read_text(encoding="utf-8")))):
            named += 1
            file, *names = ref.split("::")
            if not (ROOT / file).is_file() or (names and not _defines(ROOT / file, names)):
                missing.append(f"{page.relative_to(ROOT)}: {ref}")
    assert not missing, "no such test:\n" + "\n".join(missing)
    assert named >= 40


def test_the_readme_states_each_guarantee_with_its_tests() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Rotation and keyring guarantees", 1)[1].split("\n## ", 1)[0]
    items = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(items) >= 8
    for item in re.split(r"\n(?=- )", section.split("\n- ", 1)[1]):
        assert "::test_" in item, f"a guarantee without its test: {item[:80]}"


def test_the_strict_build_fails_on_a_page_out_of_the_nav_and_a_broken_link(
    tmp_path: Path,
) -> None:
    """The configuration python3 dev.py docs builds with catches both (mkdocs 1.6 counts no
    warning under --quiet, which is why dev.py's build command has none)."""
    mkdocs = dev.BIN / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("needs mkdocs in .venv (python3 dev.py test installs it)")
    copy = tmp_path / "clone"
    shutil.copytree(ROOT / "docs", copy / "docs")
    for name in ("mkdocs.yml", "CHANGELOG.md"):
        shutil.copy(ROOT / name, copy / name)
    (copy / "docs" / "orphan.md").write_text("# Not in the nav\n", encoding="utf-8")
    with (copy / "docs" / "index.md").open("a", encoding="utf-8") as index:
        index.write("\n[gone](nowhere.md)\n")
    done = subprocess.run(
        [str(part) for part in dev.mkdocs_build(tmp_path / "site")],
        cwd=copy,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert "orphan.md" in done.stderr
    assert "nowhere.md" in done.stderr
