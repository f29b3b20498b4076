"""docs/ml_test_score.md stays honest: every test it cites exists, each section's score is the
sum of its rows (0, 0.5 or 1 each), and the final score is the minimum of the sections."""

from __future__ import annotations

import re

from tests.deploy.conftest import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "ml_test_score.md"


def test_every_cited_test_file_and_function_exists():
    text = DOC.read_text()
    cited = re.findall(r"`(tests/[\w/]+\.py)((?:::\w+)?)`", text)
    assert len(cited) > 20
    for path, function in cited:
        source = (PROJECT_DIR / path).read_text()
        if function:
            assert re.search(rf"def {function[2:]}\b", source), f"{path}{function}"
    # a bare `::name` refers to a test file cited earlier in the same row
    for row in text.splitlines():
        files = re.findall(r"`(tests/[\w/]+\.py)", row)
        for function in re.findall(r"`::(\w+)`", row):
            assert any(
                re.search(rf"def {function}\b", (PROJECT_DIR / f).read_text()) for f in files
            ), (function, row[:60])


def test_section_scores_are_the_sums_and_the_final_score_is_the_minimum():
    text = DOC.read_text()
    sections = re.split(r"(?m)^## ", text)[1:]
    totals = {}
    for section in sections:
        heading = re.match(r"(.+?) — ([\d.]+) / 7", section)
        if not heading:
            continue
        rows = re.findall(r"(?m)^\| (?:D|M|I|Mo)\d \|.*\| ([\d.]+) \|$", section)
        assert len(rows) == 7, heading.group(1)
        assert all(float(r) in (0, 0.5, 1) for r in rows)
        assert sum(map(float, rows)) == float(heading.group(2)), heading.group(1)
        totals[heading.group(1)] = float(heading.group(2))
    assert len(totals) == 4
    final = re.search(r"\*\*ML Test Score \(minimum\)\*\* \| \*\*([\d.]+)\*\*", text)
    assert float(final.group(1)) == min(totals.values())
