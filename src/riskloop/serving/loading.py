"""Load registered models into :class:`LoadedModel` objects for the service."""

from __future__ import annotations

from riskloop import registry
from riskloop.serving.model_holder import LoadedModel


def _metrics(tags: dict[str, str]) -> dict[str, float]:
    metrics = {}
    for key, value in tags.items():
        if key.endswith(("_auc", "_gini", "_ks", "_brier", "_profit")):
            try:
                metrics[key] = float(value)
            except ValueError:
                continue
    return metrics


def load_registered_model(model_name: str, alias: str = registry.CHAMPION) -> LoadedModel | None:
    """The model behind ``alias``, or None when nothing is registered under that alias yet."""
    found = registry.load_champion(model_name, alias)
    if found is None:
        return None
    scorer, info = found
    return LoadedModel(
        scorer=scorer,
        name=model_name,
        version=info.version,
        alias=alias,
        metrics=_metrics(info.tags),
        content_digest=scorer.metadata.get("content_digest"),
    )


def load_model_version(model_name: str, version: str) -> LoadedModel:
    """One registered version (to explain an application scored by a former champion)."""
    info = registry.get_version(model_name, version)
    scorer = registry.load_scorer(model_name, version)
    return LoadedModel(
        scorer=scorer,
        name=model_name,
        version=version,
        metrics=_metrics(info.tags),
        content_digest=scorer.metadata.get("content_digest"),
    )


def champion_version(model_name: str, alias: str = registry.CHAMPION) -> str | None:
    """The version the alias points at now (one cheap registry call; the periodic check)."""
    info = registry.version_for_alias(model_name, alias)
    return None if info is None else info.version


def champion_identity(model_name: str, alias: str = registry.CHAMPION) -> tuple[str, str] | None:
    """The version the alias points at and the SHA-256 of its stored manifest: the periodic
    check compares both, so a model rewritten in place under the same version is noticed
    (one registry call and one small download from inside the trusted artifact roots)."""
    info = registry.version_for_alias(model_name, alias)
    if info is None:
        return None
    return info.version, registry.content_digest(model_name, info.version)
