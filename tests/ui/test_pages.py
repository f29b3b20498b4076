"""Every UI page driven by Streamlit's AppTest against a live API in a thread: with reports,
without them, with no model loaded and with the API down. Numbers on the page are checked
against the scorer and against hand-computed points of the report documents."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT_DIR
from tests.ui.conftest import free_port

APP = str(PROJECT_DIR / "src" / "riskloop" / "ui" / "app.py")
PAGES = ["views/score.py", "views/model.py", "views/business.py", "views/fairness.py"]


def open_page(monkeypatch, url: str, page: str = "views/score.py") -> AppTest:
    monkeypatch.setenv("RISKLOOP_API_URL", url)
    app = AppTest.from_file(APP, default_timeout=30).run()
    if page != "views/score.py":
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> str:
    """Everything the page says in text elements, for 'is it on the page' checks."""
    parts = [
        e.value
        for kind in (
            "markdown",
            "caption",
            "info",
            "warning",
            "error",
            "success",
            "title",
            "subheader",
        )
        for e in getattr(app, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_score_page_scores_logs_once_and_explains(live_api, monkeypatch, credit_scorer):
    app = open_page(monkeypatch, live_api.url)
    assert "credit-risk v3 (champion)" in app.caption[0].value
    app.number_input(key="Age").set_value(22)
    app.selectbox(key="Records").set_value("yes")
    app.button[0].click().run()
    assert not app.exception

    application = {
        f["name"]: f["typical"] for f in credit_scorer.input_schema.to_dict()["features"]
    }
    application.update(Age=22.0, Records="yes")
    expected = credit_scorer.score_records([application])
    shown = app.metric[0]
    assert shown.label == "Probability of default"
    assert shown.value == f"{expected.probability[0]:.1%}"
    verdict = (app.success or app.error)[0].value
    assert verdict == f"Decision: **{expected.decision[0].upper()}**"
    assert "Reasons" in texts(app)
    assert "1. **" in texts(app)  # the numbered reason list
    assert live_api.store.count() == 1

    # What-if: Records back to "no" moves the probability down; nothing more is logged.
    app.selectbox(key="whatif.field").set_value("Records").run()
    app.selectbox(key="whatif.Records").set_value("no").run()
    assert not app.exception
    moved = credit_scorer.score_records([{**application, "Records": "no"}]).probability[0]
    what_if = app.metric[1]
    assert what_if.label == "Probability with Records = no"
    assert what_if.value == f"{moved:.1%}"
    assert moved < expected.probability[0]
    assert what_if.delta.startswith("-")
    assert live_api.store.count() == 1  # previews (POST /v1/score/preview) are not logged


def test_model_page_with_reports(live_api, monkeypatch):
    app = open_page(monkeypatch, live_api.url, "views/model.py")
    said = texts(app)
    assert "# Model card: credit-risk" in said
    assert "Calibration method: isotonic" in said
    assert "not available" not in said
    comparison, bins = app.dataframe[0].value, app.dataframe[-1].value
    assert list(comparison["name"]) == ["logistic", "gbdt"]
    assert list(bins["count"]) == [310, 180, 120, 80]


def test_business_page_reads_the_nearest_point_of_the_profit_curve(live_api, monkeypatch):
    app = open_page(monkeypatch, live_api.url, "views/business.py")
    slider = app.slider(key="threshold")
    assert slider.value == pytest.approx(0.40)
    # Index 7 of the hand-made curve (threshold 0.40): approval 0.10 + 0.045·7, bad 0.03 + 0.012·7.
    values = {m.label: m.value for m in app.metric}
    assert values["Approval rate"] == "41.5%"
    assert values["Bad rate among approved"] == "11.4%"
    assert values["Profit per 1,000 applications"] == "9,000"

    slider.set_value(0.62).run()  # nearest computed threshold: 0.60 (index 11)
    values = {m.label: (m.value, m.delta) for m in app.metric}
    assert values["Approval rate"] == ("59.5%", "+18.0 points")
    assert values["Bad rate among approved"] == ("16.2%", "+4.8 points")
    # 9000 − 110·(0.60 − 0.40)²·1000 = 4600
    assert values["Profit per 1,000 applications"] == ("4,600", "-4,400")
    assert "Nearest computed threshold 0.600" in texts(app)


def test_fairness_page_shows_group_metrics_with_intervals(live_api, monkeypatch):
    app = open_page(monkeypatch, live_api.url, "views/fairness.py")
    assert "Age" in [s.value for s in app.subheader]
    facts = app.dataframe[0].value
    assert dict(zip(facts["measure"], facts["value"], strict=True)) == {
        "demographic_parity_ratio": "0.83",
        "equalized_odds_difference": "0.07",
    }
    groups = app.dataframe[1].value
    assert list(groups["group"]) == ["under 25", "25-60", "over 60"]
    assert list(groups["approval_rate"]) == [
        "0.520 (0.420 – 0.620)",
        "0.630 (0.590 – 0.660)",
        "0.600 (0.450 – 0.740)",
    ]
    assert app.selectbox(key="fairness.0.groups.metric").options == ["approval_rate", "count"]


@pytest.mark.parametrize("page", PAGES[1:])
def test_report_pages_say_when_reports_are_missing(bare_api, monkeypatch, page):
    app = open_page(monkeypatch, bare_api.url, page)
    notices = [i.value for i in app.info]
    assert notices and all("not available for this model yet" in n for n in notices)
    assert not app.error


@pytest.mark.parametrize("page", PAGES)
def test_every_page_explains_when_the_api_is_down(monkeypatch, page):
    app = open_page(monkeypatch, f"http://127.0.0.1:{free_port()}", page)
    assert len(app.error) == 1
    assert "not reachable" in app.error[0].value and "riskloop serve" in app.error[0].value
    assert "API address: http://127.0.0.1:" in texts(app)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_explains_when_no_model_is_loaded(empty_api, monkeypatch, page):
    app = open_page(monkeypatch, empty_api.url, page)
    assert len(app.warning) == 1
    assert "no model loaded" in app.warning[0].value and "riskloop run" in app.warning[0].value
    assert not app.error
