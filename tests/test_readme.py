"""Every ```python block of README.md runs as written.

Each block runs on its own, in a fresh namespace, as a reader who copies one block into a
fresh interpreter would run it: a block may not rely on names that an earlier block defined.
Nothing is patched, so the blocks themselves must be quick (small data, few epochs).
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# A fence opens at the start of a line with ```python and closes at the next line of ```.
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _python_blocks():
    """Return ``(first line number, source)`` for each ```python block of the README."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1))
        for match in PYTHON_BLOCK.finditer(text)
    ]


BLOCKS = _python_blocks()


def test_readme_has_python_blocks():
    # Guards the pattern: a change of fence style must not leave nothing to run.
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("line, source", BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_python_block_runs(line, source):
    # Compiled under the README's name with its line numbers, so a traceback points there.
    code = compile("\n" * (line - 1) + source, str(README), "exec")
    exec(code, {"__name__": "__main__"})
