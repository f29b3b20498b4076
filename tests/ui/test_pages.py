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


def open_page(
    monkeypatch, url: str, page: str = "views/score.py", key: str | None = None
) -> AppTest:
    monkeypatch.setenv("RISKLOOP_API_URL", url)
    if key:
        monkeypatch.setenv("RISKLOOP_API_KEY", key)
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


def nearest_index(thresholds: list[float], asked: float) -> int:
    """Index of the computed threshold nearest to ``asked`` (ties: the lower one)."""
    distances = [abs(t - asked) for t in thresholds]
    return distances.index(min(distances))


def interval(value: float, low: float, high: float) -> str:
    return f"{value:.3f} ({low:.3f} – {high:.3f})"


def test_score_page_scores_logs_once_and_explains(live_api, monkeypatch, pipeline_scorer):
    app = open_page(monkeypatch, live_api.url, key=live_api.key)
    assert "credit-risk v3 (champion)" in app.caption[0].value
    app.number_input(key="Seniority").set_value(1)
    app.selectbox(key="Records").set_value("yes")
    app.button[0].click().run()
    assert not app.exception

    application = {
        f["name"]: f["typical"] for f in pipeline_scorer.input_schema.to_dict()["features"]
    }
    application.update(Seniority=1.0, Records="yes")
    expected = pipeline_scorer.score_records([application])
    shown = app.metric[0]
    assert shown.label == "Probability of default"
    assert shown.value == f"{expected.probability[0]:.1%}"
    verdict = (app.success or app.error)[0].value
    assert verdict == f"Decision: **{expected.decision[0].upper()}**"
    # the scorer's own reason codes, in its order, with its texts and contributions
    assert expected.reasons is not None and expected.reasons[0], "the scorer explains itself"
    listing = "\n".join(
        f"{rank}. **{r['text']}** ({r['feature']}, {r['contribution']:+.3f})"
        for rank, r in enumerate(expected.reasons[0], start=1)
    )
    assert listing in [m.value for m in app.markdown]
    assert "This model gives no reason codes." not in texts(app)
    assert live_api.store.count() == 1
    (application_id,) = live_api.store.application_ids()
    assert live_api.store.get(application_id)["reasons"] == expected.reasons[0]

    # What-if: Records back to "no" moves the probability as the scorer says; nothing is logged
    app.selectbox(key="whatif.field").set_value("Records").run()
    app.selectbox(key="whatif.Records").set_value("no").run()
    assert not app.exception
    moved = pipeline_scorer.score_records([{**application, "Records": "no"}]).probability[0]
    what_if = app.metric[1]
    assert what_if.label == "Probability with Records = no"
    assert what_if.value == f"{moved:.1%}"
    assert what_if.delta == f"{(moved - expected.probability[0]) * 100:+.1f} points"
    assert live_api.store.count() == 1  # previews (POST /v1/score/preview) are not logged


def test_model_page_shows_the_pipelines_reports(live_api, monkeypatch, pipeline_scorer):
    reports = pipeline_scorer.reports
    app = open_page(monkeypatch, live_api.url, "views/model.py", key=live_api.key)
    said = texts(app)
    assert reports["model_card"].strip() in [m.value.strip() for m in app.markdown]
    assert f"Calibration method: {reports['calibration']['method']}." in said
    assert "not available" not in said
    comparison, bins = app.dataframe[0].value, app.dataframe[-1].value
    assert list(comparison["name"]) == [row["name"] for row in reports["comparison"]]
    assert list(bins["count"]) == [b["count"] for b in reports["calibration"]["bins"]]
    assert list(bins["observed"]) == pytest.approx(
        [b["observed"] for b in reports["calibration"]["bins"]]
    )
    explained = reports["explanations"]
    assert f"on average over {explained['n_explained']} test applicants (SHAP)" in said


def test_business_page_reads_the_nearest_point_of_the_profit_curve(
    live_api, monkeypatch, pipeline_scorer
):
    curve = pipeline_scorer.reports["profit_curve"]
    thresholds = [float(t) for t in curve["thresholds"]]
    chosen = curve["chosen_threshold"]
    assert min(thresholds) <= chosen <= max(thresholds)
    app = open_page(monkeypatch, live_api.url, "views/business.py", key=live_api.key)
    slider = app.slider(key="threshold")
    assert slider.value == pytest.approx(chosen)
    at = nearest_index(thresholds, chosen)
    values = {m.label: m.value for m in app.metric}
    assert values["Approval rate"] == f"{curve['approval_rate'][at]:.1%}"
    assert values["Bad rate among approved"] == f"{curve['bad_rate_approved'][at]:.1%}"
    assert values["Profit per 1,000 applications"] == f"{curve['profit_per_1000'][at]:,.0f}"

    asked = 0.25 if chosen > 0.5 else 0.75  # well away from the model's threshold
    slider.set_value(asked).run()
    moved = nearest_index(thresholds, asked)
    values = {m.label: (m.value, m.delta) for m in app.metric}
    approval = curve["approval_rate"]
    assert values["Approval rate"] == (
        f"{approval[moved]:.1%}",
        f"{(approval[moved] - approval[at]) * 100:+.1f} points",
    )
    bad = curve["bad_rate_approved"]
    assert values["Bad rate among approved"] == (
        f"{bad[moved]:.1%}",
        f"{(bad[moved] - bad[at]) * 100:+.1f} points",
    )
    profit = curve["profit_per_1000"]
    assert values["Profit per 1,000 applications"] == (
        f"{profit[moved]:,.0f}",
        f"{profit[moved] - profit[at]:+,.0f}",
    )
    assert f"Nearest computed threshold {thresholds[moved]:.3f}" in texts(app)


def test_fairness_page_shows_group_metrics_with_intervals(live_api, monkeypatch, pipeline_scorer):
    fairness = pipeline_scorer.reports["fairness"]
    app = open_page(monkeypatch, live_api.url, "views/fairness.py", key=live_api.key)
    subheaders = [s.value for s in app.subheader]
    frames = [d.value for d in app.dataframe]
    facts = [dict(zip(f["measure"], f["value"], strict=True)) for f in frames if "measure" in f]
    group_tables = iter(f for f in frames if "group" in f)
    for split in ("validation", "test"):
        for attribute, document in fairness[split]["attributes"].items():
            assert f"{split} › attributes › {attribute}" in subheaders
            summary = {
                k: str(document[k])
                for k in ("demographic_parity_ratio", "equalized_odds_difference")
            }
            assert any(summary.items() <= shown.items() for shown in facts), summary
            groups = next(group_tables)
            by_group = document["by_group"]
            assert list(groups["group"]) == list(by_group)
            assert list(groups["count"]) == [g["count"] for g in by_group.values()]
            assert list(groups["selection_rate"]) == [
                interval(g["selection_rate"], *g["selection_rate_ci"]) for g in by_group.values()
            ]


@pytest.mark.parametrize("page", PAGES[1:])
def test_report_pages_say_when_reports_are_missing(bare_api, monkeypatch, page):
    app = open_page(monkeypatch, bare_api.url, page, key=bare_api.key)
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
    app = open_page(monkeypatch, empty_api.url, page, key=empty_api.key)
    assert len(app.warning) == 1
    assert "no model loaded" in app.warning[0].value and "riskloop run" in app.warning[0].value
    assert not app.error
