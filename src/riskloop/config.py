"""One loader for every YAML configuration file: read, validate against its pydantic model, and
turn any problem into one :class:`ConfigError` written for people.

Each file under ``conf/base`` has a pydantic model next to the code that uses it (the scenario,
the monitor, retraining, the promotion gate); this module knows none of them, so every layer can
import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)

# pydantic prefixes the message of a ValueError raised in a validator; the rule reads better alone
_VALUE_ERROR_PREFIX = "Value error, "


class ConfigError(ValueError):
    """A configuration file cannot be read or breaks a rule of its model.

    The message names the file, then one line per problem: the key path (``windows.size``,
    ``rules.2.k``; ``(top level)`` for the file itself), the rule, and the value received.
    """


def load_config(path: str | Path, model: type[ModelT], *, missing_ok: bool = False) -> ModelT:
    """Read the YAML file at ``path`` and validate it against ``model``.

    Parameters
    ----------
    path : str or Path
        The YAML file (usually under ``conf/base``).
    model : type of pydantic BaseModel
        The model the file must satisfy; its field defaults are the only defaults.
    missing_ok : bool, default False
        When True, a file that does not exist gives the model's defaults instead of an error
        (for optional files such as ``retraining.yml``); an empty file always does.

    Returns
    -------
    ModelT
        The validated configuration.

    Raises
    ------
    ConfigError
        The file is missing (unless ``missing_ok``), is not YAML, does not hold a mapping, or
        breaks the model's rules; the message names the file, the key, the rule and the value.
    """
    path = Path(path)
    if not path.is_file():
        if missing_ok:
            return model()
        raise ConfigError(f"{path}: file not found")
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    except yaml.MarkedYAMLError as error:
        where = error.problem_mark
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{path}: not valid YAML{at}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if raw is None:
        raw = {}
    return validate_config(raw, model, path)


def validate_config(raw: Any, model: type[ModelT], source: str | Path) -> ModelT:
    """Validate values already read (a Kedro parameters section, say) against ``model``.

    Parameters
    ----------
    raw : Any
        The values; they must form a mapping.
    model : type of pydantic BaseModel
        The model they must satisfy.
    source : str or Path
        Where they came from (a file, ``params:promotion_gate``), named first in any error.

    Raises
    ------
    ConfigError
        ``raw`` is not a mapping or breaks the model's rules.
    """
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: (top level): must hold a mapping of keys to values"
            f" (received a {type(raw).__name__})"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(source, error)) from None


def describe_validation_error(source: str | Path, error: ValidationError) -> str:
    """The problems of ``error`` as one message: where the values came from, then one line per key.

    Parameters
    ----------
    source : str or Path
        The file (or the option) the values came from, named first in the message.
    error : ValidationError
        What pydantic found.
    """
    problems = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "missing":
            problems.append(f"  {key}: required, but missing")
            continue
        rule = problem["msg"].removeprefix(_VALUE_ERROR_PREFIX)
        problems.append(f"  {key}: {rule} (received {problem.get('input')!r})")
    return f"{source} breaks its rules:\n" + "\n".join(problems)
