"""Exact CART decision trees: criterion, presorted splitter, builder, flat tree arrays."""

from ._classes import DecisionTreeClassifier
from ._tree import Tree

__all__ = ["DecisionTreeClassifier", "Tree"]
