"""Multi-layer perceptron written from scratch: dense layers, hand-written backprop, Adam/SGD."""

from ._mlp import MLPClassifier

__all__ = ["MLPClassifier"]
