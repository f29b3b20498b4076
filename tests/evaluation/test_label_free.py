import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from riskloop.evaluation.label_free import expected_auc, expected_bad_rate


def test_expected_auc_is_the_mean_auc_of_outcomes_drawn_from_the_probabilities():
    rng = np.random.default_rng(31)
    p = rng.beta(2, 5, 4000)
    simulated = [roc_auc_score(rng.random(p.size) < p, p) for _ in range(200)]
    assert expected_auc(p) == pytest.approx(np.mean(simulated), abs=0.002)


def test_expected_auc_brute_force_with_ties():
    p = np.array([0.1, 0.4, 0.4, 0.8, 0.3])
    num = den = 0.0
    for i in range(5):
        for j in range(5):
            if i != j:
                w = p[i] * (1 - p[j])
                den += w
                num += w * (1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0)
    assert expected_auc(p) == pytest.approx(num / den, rel=1e-12)


def test_calibrated_model_estimates_match_realised_when_no_concept_drift():
    rng = np.random.default_rng(7)
    p = rng.beta(2, 4, 20000)
    y = rng.random(p.size) < p
    approved = p < 0.4
    assert expected_auc(p) == pytest.approx(roc_auc_score(y, p), abs=0.01)
    assert expected_bad_rate(p, approved) == pytest.approx(y[approved].mean(), abs=0.01)
    # concept drift: outcomes get worse, scores do not move — the estimate cannot see it
    y_recession = rng.random(p.size) < np.minimum(1.0, p * 1.8)
    assert y_recession[approved].mean() > expected_bad_rate(p, approved) + 0.1
