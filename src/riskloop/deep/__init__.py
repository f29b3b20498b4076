"""Deep tabular models trained with PyTorch — an optional extra (``make run DEEP=1``).

:mod:`riskloop.deep.attention` writes multi-head self-attention out by hand,
:mod:`riskloop.deep.ft_transformer` builds the FT-Transformer from it, and
:mod:`riskloop.deep.estimator` trains it (AdamW, early stopping, a cost-sensitive loss) behind
the scikit-learn contract. A trained network is exported to plain arrays
(:class:`riskloop.scratch.ft_transformer.FTTransformerNetwork`), so the scorer stores it as
``.npz`` + JSON and serving runs it in NumPy: the API never imports torch.

Importing this package does not import torch; its modules do.
"""
