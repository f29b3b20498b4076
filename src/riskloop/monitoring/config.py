"""The monitor's configuration (``conf/base/monitoring.yml``): how the prediction log is cut
into windows, how many outcomes a window needs, and the alert rules (docs/monitoring.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from riskloop.config import ConfigError, describe_validation_error, load_config
from riskloop.monitoring.alerts import AlertRule


def _rule_from_mapping(raw: Any) -> Any:
    # AlertRule owns its rules (exactly one bound, 1 <= k <= n); its RuleError is a ValueError,
    # which pydantic reports under the rule's position in the list (rules.2)
    return AlertRule.from_config(raw) if isinstance(raw, Mapping) else raw


class WindowSpec(BaseModel):
    """How the log is cut into windows (the ``windows:`` section).

    Parameters
    ----------
    by : {"count", "time"}
        Windows of ``size`` consecutive logged applications, or calendar windows.
    size : int or str
        Rows per window (count), or a pandas offset such as ``"1h"``, ``"7D"``, ``"MS"`` (time).
    recent : int
        How many of the newest windows each run recomputes (older ones keep stored values).
    min_rows : int
        The newest, unfinished window is measured once it holds this many rows.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Literal["count", "time"] = "count"
    size: int | str = 500
    recent: int = Field(12, ge=1)
    min_rows: int = Field(100, ge=1)

    @field_validator("size")
    @classmethod
    def _size_fits_the_windowing(cls, size: int | str, info: ValidationInfo) -> int | str:
        # ``by`` is declared first, so it is validated already (absent when it was invalid)
        if info.data.get("by", "count") == "count":
            if not isinstance(size, int) or size < 1:
                raise ValueError("must be a positive number of rows for count windows")
            return size
        try:
            pd.tseries.frequencies.to_offset(str(size))
        except ValueError:
            raise ValueError(
                "must be a pandas offset such as 1h, 7D or MS for time windows"
            ) from None
        return size


class MonitorConfig(BaseModel):
    """How the monitor cuts windows and which rules it applies (``conf/base/monitoring.yml``).

    Parameters
    ----------
    windows : WindowSpec
        The windowing of the prediction log.
    min_labelled : int
        Outcomes a window needs before its realised metrics and fairness are computed.
    rules : list of AlertRule
        Triggers with hysteresis (:mod:`riskloop.monitoring.alerts`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: WindowSpec = Field(default_factory=WindowSpec)
    min_labelled: int = Field(50, ge=1)
    rules: list[Annotated[AlertRule, BeforeValidator(_rule_from_mapping)]] = Field(
        default_factory=list
    )

    # The monitor reads the windowing under these names.
    @property
    def window_by(self) -> str:
        """``"count"`` or ``"time"``."""
        return self.windows.by

    @property
    def window_size(self) -> int | str:
        """Rows per window (count) or a pandas offset (time)."""
        return self.windows.size

    @property
    def recent_windows(self) -> int:
        """How many of the newest windows each run recomputes."""
        return self.windows.recent

    @property
    def min_window_rows(self) -> int:
        """Rows an unfinished newest window needs before it is measured."""
        return self.windows.min_rows

    @property
    def window_prefix(self) -> str:
        """Start of every window id of this windowing (``count:500:`` or ``time:7D:``)."""
        return f"{self.window_by}:{self.window_size}:"

    def with_windows(self, **changes: Any) -> MonitorConfig:
        """A copy with some of the ``windows`` settings changed, validated like the file.

        Parameters
        ----------
        **changes
            Keys of :class:`WindowSpec` (``by``, ``size``, ``recent``, ``min_rows``).

        Raises
        ------
        riskloop.config.ConfigError
            A changed value breaks a rule of :class:`WindowSpec`.
        """
        try:
            windows = WindowSpec.model_validate({**self.windows.model_dump(), **changes})
        except ValidationError as error:
            raise ConfigError(describe_validation_error("the windows asked for", error)) from None
        return self.model_copy(update={"windows": windows})


def load_monitor_config(path: Path) -> MonitorConfig:
    """Read and validate the monitor's configuration file.

    Parameters
    ----------
    path : Path
        Usually ``conf/base/monitoring.yml`` (``Settings.monitoring_config_path``).

    Raises
    ------
    riskloop.config.ConfigError
        The file is missing or invalid; the message names the key, the rule and the value.
    """
    return load_config(path, MonitorConfig)
