"""The README and docs/ stay true to the code: every documented command parses, every relative link resolves.

Commands are taken from fenced ``bash`` blocks (backslash continuations joined, ``#`` comments dropped).
``jssp`` commands go through the CLI's own argparse parser, ``train.py`` commands through ``train.parse`` and
``evaluate.py`` commands through tyro over ``EvaluateConfig``, without running anything; ``benchmarks/*.py``
scripts and ``-m`` modules are checked to exist."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import tyro

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON = (".venv/bin/python", "python")
JSSP = (".venv/bin/jssp", "jssp")
FENCE = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
OUTSIDE = ("../shared", "ANCHORS.md")


def _bash_commands(document: Path) -> list[tuple[str, list[str]]]:
    """(label, argv) of every command in the document's ``bash`` blocks, label = ``file:line``."""
    text = document.read_text()
    commands = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        logical, start = "", first_line
        for offset, line in enumerate(block.group(1).splitlines()):
            if not logical:
                start = first_line + offset
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            argv = shlex.split(logical + line, comments=True)
            logical = ""
            if argv:
                commands.append((f"{document.relative_to(ROOT)}:{start}", argv))
    return commands


COMMANDS = [command for document in DOCUMENTS for command in _bash_commands(document)]
PROGRAM_COMMANDS = [(label, argv) for label, argv in COMMANDS if argv[0] in PYTHON + JSSP]


def _parse_or_fail(parse: Callable[[], object], label: str, argv: Sequence[str]) -> None:
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parse()
    except SystemExit as error:
        pytest.fail(f"{label}: {shlex.join(argv)}\ndoes not parse (exit {error.code}):\n{stderr.getvalue()[-2000:]}")


def _train_parser() -> Callable[[list[str]], object]:
    """train.py's parse-only entry: ``parse(argv)`` returns the subcommand's config without training."""
    import train

    parse = getattr(train, "parse", None)
    if callable(parse):
        return parse
    if hasattr(train, "TrainConfig"):
        pytest.skip("train.py still has the single PPO config, not the subcommands (ppo, imitation, ...)")
    pytest.fail("train.py exposes no parse(argv)")


def test_documents_have_commands() -> None:
    labels = {label.split(":")[0] for label, _ in PROGRAM_COMMANDS}
    assert {"README.md", "docs/results.md"} <= labels


@pytest.mark.parametrize(("label", "argv"), PROGRAM_COMMANDS, ids=[label for label, _ in PROGRAM_COMMANDS])
def test_command_parses(label: str, argv: list[str]) -> None:
    assert argv[0] in (PYTHON[0], JSSP[0]), f"{label}: use {PYTHON[0]} / {JSSP[0]}, not {argv[0]}"
    if argv[0] in JSSP:
        from jssp.cli import _build_parser

        _parse_or_fail(lambda: _build_parser().parse_args(argv[1:]), label, argv)
        return
    if argv[1] == "-m":
        assert importlib.util.find_spec(argv[2]) is not None, f"{label}: no module {argv[2]}"
        return
    script, args = argv[1], argv[2:]
    assert (ROOT / script).is_file(), f"{label}: no file {script}"
    if script == "evaluate.py":
        import evaluate

        _parse_or_fail(lambda: tyro.cli(evaluate.EvaluateConfig, args=args), label, argv)
    elif script == "train.py":
        parse = _train_parser()
        _parse_or_fail(lambda: parse(args), label, argv)
    else:
        assert script.startswith("benchmarks/"), f"{label}: {script} is not an entry point this test knows"


def _anchors(document: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.*)$", FENCE.sub("", document.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_links_resolve_inside_the_repository(document: Path) -> None:
    text = document.read_text()
    for pattern in OUTSIDE:
        assert pattern not in text, f"{document.name} refers to {pattern}, outside the repository"
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z]+:", target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        assert linked.is_relative_to(ROOT), f"{document.name}: {target} points outside the repository"
        assert linked.exists(), f"{document.name}: {target} does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{document.name}: {target}: no heading #{anchor}"
