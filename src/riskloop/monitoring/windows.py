"""Windows of the prediction log: by count (consecutive applications in arrival order) or by
time (calendar windows of a pandas offset), each with an id that stays the same across monitor
runs, so a window's stored figures are replaced rather than duplicated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from riskloop.monitoring.config import MonitorConfig


@dataclass(frozen=True)
class Window:
    """One window of the log: its id, bounds and the row ids of the applications in it."""

    window_id: str
    start: datetime
    end: datetime
    row_ids: np.ndarray


def cut_windows(
    times: pd.DataFrame, config: MonitorConfig, now: datetime | None = None
) -> list[Window]:
    """Windows of the log from its row ids and arrival times (``PredictionStore.received_times``).

    Count windows are consecutive ``window_size`` rows in arrival order, numbered from the
    first logged row; time windows are calendar bins of the offset (anchored at the Unix epoch,
    so a window keeps its id across runs). The newest window is kept while unfinished only when
    it has ``min_window_rows`` rows; finished windows are always kept.
    """
    if times.empty:
        return []
    ids = times["id"].to_numpy()
    received = pd.to_datetime(times["received_at"], utc=True)
    windows: list[Window] = []
    if config.window_by == "count":
        size = int(config.window_size)
        for index, first in enumerate(range(0, len(ids), size)):
            chunk = slice(first, first + size)
            row_ids = ids[chunk]
            if len(row_ids) < size and len(row_ids) < config.min_window_rows:
                continue  # the newest window is still filling
            windows.append(
                Window(
                    f"{config.window_prefix}#{index}",
                    received.iloc[chunk].min().to_pydatetime(),
                    received.iloc[chunk].max().to_pydatetime(),
                    row_ids,
                )
            )
        return windows
    offset = pd.tseries.frequencies.to_offset(str(config.window_size))
    now_ts = pd.Timestamp(now or datetime.now(UTC))
    now_ts = now_ts.tz_localize(UTC) if now_ts.tzinfo is None else now_ts
    frame = pd.DataFrame({"id": ids, "received_at": received.to_numpy()})
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    grouped = frame.groupby(pd.Grouper(key="received_at", freq=offset, origin="epoch"))
    for start, group in grouped:
        if group.empty:
            continue
        end = start + offset
        if end > now_ts and len(group) < config.min_window_rows:
            continue
        windows.append(
            Window(
                f"{config.window_prefix}{start.isoformat()}",
                start.to_pydatetime(),
                end.to_pydatetime(),
                group["id"].to_numpy(),
            )
        )
    return windows
