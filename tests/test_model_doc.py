"""docs/model.md keeps its promises: it matches the code it documents.

* section 8.1 lists every Scenario field, with the code's default and the code's
  allowed range (``FIELD_RANGES[name].allowed()``, character for character);
* sections are numbered ``## 1.`` .. ``## 10.`` (and more), subsections ``### N.M``,
  and 5.3 is the stage cap that the code cites;
* the worked example of section 5.7 is what ``evaluate`` computes, and the API
  snippet of section 7 runs;
* no tracked file refers to a file outside the repository.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from noma_split_env import Allocation, Scenario, Slot, evaluate
from noma_split_env.scenario import FIELD_RANGES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "model.md"

# Built from pieces, so that this file does not contain the references it looks for.
OUTSIDE_REFERENCES = ("../" + "shared", "SPEC" + ".md", "SPEC" + " section")

SCENARIO_FIELDS = [f.name for f in dataclasses.fields(Scenario) if f.name != "name"]


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def headings() -> list[tuple[int, str]]:
    """``(line index, heading)`` of every Markdown heading outside fenced code blocks."""
    found, fenced = [], False
    for index, line in enumerate(doc_text().splitlines()):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#+ ", line):
            found.append((index, line))
    return found


def part(heading: str) -> str:
    """The text from the heading that starts with ``heading`` to the next heading of
    the same or a higher level."""
    lines = doc_text().splitlines()
    level = len(heading.split(" ")[0])
    marks = headings()
    starts = [i for i, (_, line) in enumerate(marks) if line.startswith(heading)]
    assert starts, f"docs/model.md has no heading {heading!r}"
    start = starts[0]
    ends = [index for index, line in marks[start + 1 :] if len(line.split(" ")[0]) <= level]
    return "\n".join(lines[marks[start][0] : ends[0] if ends else len(lines)])


def table_rows(text: str) -> dict[str, list[str]]:
    """Table rows of ``text`` whose first cell is a `name`: name -> the other cells,
    stripped of blanks and backticks. A name may appear once only."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^\| `(\w+)` \|(.*)\|\s*$", line)
        if match:
            name = match.group(1)
            assert name not in rows, f"docs/model.md: row {name!r} appears twice"
            rows[name] = [cell.strip().strip("`") for cell in match.group(2).split("|")]
    return rows


def parameter_table() -> dict[str, dict[str, str]]:
    """Section 8.1's table: field name -> {column header: cell}."""
    text = part("### 8.1")
    header = next(line for line in text.splitlines() if line.startswith("| field |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")][1:]
    rows = table_rows(text)
    return {name: dict(zip(columns, cells, strict=True)) for name, cells in rows.items()}


# ------------------------------------------------------------------ section 8
def test_parameter_table_lists_every_scenario_field():
    assert sorted(parameter_table()) == sorted(SCENARIO_FIELDS)


@pytest.mark.parametrize("name", list(FIELD_RANGES))
def test_parameter_table_range_is_the_codes(name):
    assert parameter_table()[name]["allowed"] == FIELD_RANGES[name].allowed()


@pytest.mark.parametrize("name", SCENARIO_FIELDS)
def test_parameter_table_default_is_the_codes(name):
    documented = ast.literal_eval(parameter_table()[name]["default"])
    assert documented == getattr(Scenario(), name)


# ------------------------------------------------------------------ structure
def test_sections_and_subsections_are_numbered():
    sections: list[int] = []
    subsections: list[int] = []
    for _, line in headings():
        level, title = line.split(" ", 1)
        if level == "#":
            continue  # the document's title
        if level == "##":
            match = re.fullmatch(r"(\d+)\. \S.*", title)
            assert match, f"section heading without a number: '## {title}'"
            sections.append(int(match.group(1)))
            subsections = []
        else:
            match = re.fullmatch(r"(\d+)\.(\d+) \S.*", title)
            assert match, f"subsection heading without a number: '### {title}'"
            assert sections and int(match.group(1)) == sections[-1], title
            subsections.append(int(match.group(2)))
            assert subsections == list(range(1, len(subsections) + 1)), title
    assert sections == list(range(1, len(sections) + 1)) and len(sections) >= 10
    assert "### 5.3 Stage cap and failed tasks" in doc_text()


# ------------------------------------------------------------------ section 5.7
EXAMPLES = {"A": (0.5, [0.2, 0.2]), "B": (0.0, [0.2, 0.0])}  # latency weight, uplink powers


def example_outcome(latency_weight, ul_power):
    """Section 5.7's example: preset tiny, both users offloading on subchannel 0."""
    sc = Scenario.preset("tiny", latency_weight=latency_weight)
    slot = Slot.from_arrays(sc, ul_gain=[[3e-10], [4e-11]], dl_gain=[[5e-10], [2e-11]])
    allocation = Allocation(
        split=np.array([3, 0]),
        ul_subchannel=np.zeros(2, dtype=np.int64),
        dl_subchannel=np.zeros(2, dtype=np.int64),
        ul_power=np.array(ul_power),
        dl_power=np.array([5.0, 5.0]),
    )
    return evaluate(slot, allocation)


def test_worked_example_is_what_evaluate_computes():
    outcomes = [example_outcome(*EXAMPLES[name]) for name in EXAMPLES]
    rows = table_rows(part("### 5.7"))
    assert {"ul_sinr", "t_up", "user_cost", "failed", "cost", "failure_term"} <= set(rows)
    for name, cells in rows.items():
        documented = [float(cell) for cell in cells]
        if len(documented) == 2 * len(outcomes):  # per-user rows: A user 0, A user 1, B ...
            computed = [v for out in outcomes for v in np.asarray(getattr(out, name), float)]
        else:  # slot-level rows: A, B
            computed = [float(getattr(out, name)) for out in outcomes]
        assert documented == pytest.approx(computed, rel=1e-4, abs=1e-12), name


# ------------------------------------------------------------------ section 7
def test_api_snippet_runs():
    snippets = re.findall(r"^```python\n(.*?)^```", part("## 7."), re.MULTILINE | re.DOTALL)
    assert snippets
    for code in snippets:
        exec(compile(code, "docs/model.md section 7", "exec"), {"__name__": "model_doc"})


# ------------------------------------------------------------------ self-contained
def test_no_tracked_file_refers_outside_the_repository():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        pytest.skip(f"git ls-files failed: {listed.stderr.strip()}")
    names = {name for name in listed.stdout.split("\0") if name} | {"docs/model.md"}
    offenders = []
    for name in sorted(names):
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            offenders += [f"{name}:{number}: {ref!r}" for ref in OUTSIDE_REFERENCES if ref in line]
    assert not offenders, "references outside the repository:\n" + "\n".join(offenders)
