"""The UI's pure helpers: nearest point of the profit curve and reading report documents."""

import pytest

from riskloop.ui.charts import operating_point
from riskloop.ui.documents import sections, with_intervals

CURVE = {
    "thresholds": [0.1, 0.2, 0.4],
    "approval_rate": [0.2, 0.5, 0.9],
    "bad_rate_approved": [0.01, 0.05, 0.2],
    "profit_per_1000": [100.0, 300.0, -50.0],
}


@pytest.mark.parametrize(
    ("asked", "nearest"),
    [(0.0, 0.1), (0.14, 0.1), (0.15, 0.1), (0.16, 0.2), (0.31, 0.4), (0.9, 0.4)],
)
def test_operating_point_is_the_nearest_threshold_ties_to_the_lower(asked, nearest):
    point = operating_point(CURVE, asked)
    index = CURVE["thresholds"].index(nearest)
    assert point.threshold == nearest
    assert point.approval_rate == CURVE["approval_rate"][index]
    assert point.profit_per_1000 == CURVE["profit_per_1000"][index]


def test_intervals_are_read_in_each_spelling():
    document = {
        "Marital": {
            "groups": {
                "single": {"tpr": 0.7, "tpr_ci": [0.6, 0.8], "count": 50},
                "married": {"tpr": {"value": 0.75, "ci": [0.7, 0.8]}, "count": 300},
            },
            "ratio": {"estimate": 0.9, "low": 0.8, "high": 1.0},
        }
    }
    (section,) = sections(document)
    assert section.title == "Marital"
    assert section.facts == {"ratio": "0.9 (0.8 – 1)"}
    name, table = section.tables[0]
    assert name == "groups"
    assert list(with_intervals(table)["tpr"]) == ["0.700 (0.600 – 0.800)", "0.750 (0.700 – 0.800)"]
