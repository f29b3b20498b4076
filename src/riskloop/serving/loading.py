"""Load the registered champion into a :class:`LoadedModel` for the service."""

from __future__ import annotations

from riskloop import registry
from riskloop.serving.model_holder import LoadedModel


def load_registered_model(model_name: str, alias: str = registry.CHAMPION) -> LoadedModel | None:
    """The model behind ``alias``, or None when nothing is registered under that alias yet."""
    found = registry.load_champion(model_name, alias)
    if found is None:
        return None
    scorer, info = found
    metrics = {key: float(value) for key, value in info.tags.items() if key.endswith("_auc")}
    return LoadedModel(
        scorer=scorer, name=model_name, version=info.version, alias=alias, metrics=metrics
    )
