"""The training-set policy: which rows train the challenger, which rows judge it.

With ``L`` = the newest ``lookback_rows`` labelled production rows (in scoring order):

* **holdout** = the newest ``ceil(holdout_share · |L|)`` of them. Both champion and challenger
  are judged on these rows and the challenger never trains on them; they are the closest thing
  to "the applicants of tomorrow" that has outcomes.
* **production training rows** = the rest of ``L``.
* **reference rows** = a seeded sample of the reference frame: ``reference_ratio`` rows per
  production training row (``"all"``: every row). The reference is history the champion was
  trained on (the simulator passes the first champion's training split), never applicants the
  holdout or the trusted evaluation rows come from. With ratio 1 the recent outcomes weigh as
  much as all of history together — a model adapts to a shift within a few windows but is still
  anchored on the population it knows. Raise the ratio for a slower, steadier model.

Production rows are rebuilt in the data file's own shape: the logged inputs, and the target
column holding the scenario's risky value where the outcome is 1 and the file's most common
other value where it is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.retraining.config import PolicySpec
from riskloop.store import PredictionStore


class NotEnoughOutcomesError(RuntimeError):
    """Too few labelled production rows to judge a challenger."""


@dataclass
class TrainingData:
    """Rows for one retrain, all in the data file's column layout.

    ``holdout`` also has ``application_id`` and ``received_at``. ``reference_index`` names the
    reference rows in ``train`` (labels of the reference frame's index) and
    ``train_application_ids`` the production rows, so a caller can prove that no row judging
    the challenger trained it.
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    n_reference: int
    n_production: int
    reference_index: list[Any] = field(default_factory=list)
    train_application_ids: list[str] = field(default_factory=list)


def repaid_value(reference: pd.DataFrame, scenario: Scenario) -> Any:
    """The target value that means "not the risky outcome": the file's most common other one."""
    target = reference[scenario.data.target]
    others = target[target.astype(str) != str(scenario.data.positive_class)]
    if others.empty:
        raise ValueError(
            f"the data file's column {scenario.data.target!r} holds only the risky value"
            f" {scenario.data.positive_class!r}; cannot write a repaid outcome"
        )
    return others.value_counts().index[0]


def production_rows(
    labelled: pd.DataFrame, reference: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Labelled log rows (``PredictionStore.labelled_predictions``) as data-file rows."""
    inputs = pd.DataFrame.from_records(labelled["inputs"].tolist(), index=labelled.index)
    frame = inputs.reindex(columns=[c for c in reference.columns if c != scenario.data.target])
    risky, repaid = scenario.data.positive_class, repaid_value(reference, scenario)
    frame[scenario.data.target] = np.where(labelled["outcome"].to_numpy() == 1, risky, repaid)
    frame["application_id"] = labelled["application_id"].to_numpy()
    frame["received_at"] = labelled["received_at"].to_numpy()
    return frame


def build_training_data(
    store: PredictionStore, reference: pd.DataFrame, scenario: Scenario, policy: PolicySpec
) -> TrainingData:
    """Apply the policy (module docstring) to the store's labelled rows.

    Raises
    ------
    NotEnoughOutcomesError
        When the holdout would have fewer than ``policy.min_holdout_rows`` rows.
    """
    labelled = store.labelled_predictions(checked_only=True)
    # the store returns decision order (received_at, then log id): the newest decisions hold out
    labelled = labelled.tail(policy.lookback_rows)
    n_holdout = math.ceil(policy.holdout_share * len(labelled))
    if n_holdout < policy.min_holdout_rows:
        raise NotEnoughOutcomesError(
            f"{len(labelled)} labelled production rows give a holdout of {n_holdout}; the policy"
            f" needs at least {policy.min_holdout_rows} (retraining.yml policy.min_holdout_rows)"
            " to compare champion and challenger: send more outcomes first"
        )
    rows = production_rows(labelled.reset_index(drop=True), reference, scenario)
    holdout = rows.tail(n_holdout).reset_index(drop=True)
    recent = rows.iloc[: len(rows) - n_holdout]
    train_ids = recent["application_id"].astype(str).tolist()
    recent = recent.drop(columns=["application_id", "received_at"])
    if policy.reference_ratio == "all":
        sample = reference
    else:
        n_reference = min(len(reference), int(round(policy.reference_ratio * len(recent))))
        sample = reference.sample(n=n_reference, random_state=policy.seed)
    train = pd.concat([sample, recent], ignore_index=True)[list(reference.columns)]
    return TrainingData(train, holdout, len(sample), len(recent), sample.index.tolist(), train_ids)
