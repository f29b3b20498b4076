"""Histogram gradient boosting from scratch (the pygbm / scikit-learn shape).

``binning`` → ``histogram`` → ``splitting`` → ``grower`` → ``predictor``,
orchestrated by ``boosting.HistGradientBoostingClassifier``.
"""

from riskloop.scratch.gbdt.boosting import HistGradientBoostingClassifier

__all__ = ["HistGradientBoostingClassifier"]
