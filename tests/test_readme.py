"""The README's Python snippets run as written, in order, in one namespace.

A snippet that should not run here (it trains for minutes, or needs a file the test
cannot make) is fenced as ``python no-test``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def snippets() -> list[str]:
    return SNIPPET.findall(README.read_text(encoding="utf-8"))


def test_readme_has_snippets() -> None:
    assert len(snippets()) >= 5


def test_readme_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}  # as a script runs them
    for i, code in enumerate(snippets()):
        try:
            exec(compile(code, f"README.md snippet {i + 1}", "exec"), namespace)
        except Exception as error:  # name the snippet, keep the traceback
            raise AssertionError(f"README.md python snippet {i + 1} failed: {error!r}") from error
