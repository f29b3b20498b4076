"""The limits and switches of one service instance.

The settings that exist in :class:`riskloop.settings.Settings` (``RISKLOOP_*``) take their
defaults from there, so a default is written once; :meth:`ServiceConfig.from_settings` is how
``riskloop serve`` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskloop.settings import Settings


def _default(name: str) -> Any:
    """The default of the ``Settings`` field ``name``."""
    return field(default=Settings.model_fields[name].default)


@dataclass(frozen=True)
class ServiceConfig:
    """Limits and switches of one service instance.

    Parameters
    ----------
    admin_token : str, optional
        A bearer token holding every role (``RISKLOOP_ADMIN_TOKEN``); None: API keys only.
    loopback : bool
        The service listens on loopback only: ``/metrics``, ``/openapi.json`` and ``/docs``
        need no credential. False (default) unless ``riskloop serve`` binds to loopback.
    auth_cache_s : float
        A verified credential is remembered this long (a revoked key works up to this long).
    auth_failure_limit : int
        Credential failures from one client address within ``auth_failure_window_s`` after
        which it gets 429 until the window ends.
    auth_failure_window_s : float
        The window of ``auth_failure_limit``, in seconds.
    max_body_bytes : int
        Larger request bodies are refused with 413 before they are read.
    max_batch_rows : int
        Most applications in one ``/v1/score/batch`` request (more: 413).
    max_in_flight : int
        Requests processed at once (:class:`~riskloop.serving.admission.AdmissionLimiter`).
    max_waiting : int
        Requests that may wait for a slot; beyond them, 503 with ``Retry-After`` at once.
    max_wait_s : float
        The longest a request waits for a slot before its 503.
    body_timeout_s : float
        A request's body must arrive within this many seconds of its headers (else 408).
    reload_interval_s : float
        How often to ask the registry whether the champion alias moved; 0 = never (the admin
        reload route still works). An app built in process (tests, the drift simulator) only
        reloads when told, hence 0 here; ``riskloop serve`` uses the setting (60 s).
    log_max_batch_rows : int
        Most prediction-log rows per group commit.
    log_linger_ms : float
        How long the log writer thread waits to fill a batch (0: write what is queued at once).
    log_in_event_loop : bool, optional
        Commit the log in the event loop (:class:`EventLoopGroupCommitter`) rather than in a
        writer thread (:class:`GroupCommitWriter`); None (default): in the loop for SQLite,
        in a thread for a database across a network.
    monitor_refresh_s : float
        The monitor's results behind the Prometheus gauges are re-read at most this often.
    monitor_rules : tuple of dict
        The monitor's alert rules (name, metric, above/below, k, n), shown with its results by
        ``GET /v1/monitoring`` so the UI can draw their thresholds.
    shadow_alias : str, optional
        Registry alias of a shadow model (e.g. ``challenger``): it also scores every logged
        application after the answer is computed, its scores go to ``shadow_predictions`` and
        are never returned; None (default): no shadow scoring.
    applicant_ref_key : bytes, optional
        The key of the applicants' pseudonymous references (HMAC-SHA-256 of the lender's
        ``applicant_id``, :mod:`riskloop.store.privacy`); None (default): requests carrying an
        ``applicant_id`` are refused.
    """

    admin_token: str | None = _default("admin_token")
    loopback: bool = False
    auth_cache_s: float = 5.0
    auth_failure_limit: int = _default("auth_failure_limit")
    auth_failure_window_s: float = _default("auth_failure_window_s")
    max_body_bytes: int = _default("max_body_bytes")
    max_batch_rows: int = _default("max_batch_rows")
    max_in_flight: int = _default("max_in_flight")
    max_waiting: int = _default("max_waiting")
    max_wait_s: float = _default("max_wait_s")
    body_timeout_s: float = _default("body_timeout_s")
    reload_interval_s: float = 0.0
    log_max_batch_rows: int = _default("log_max_batch_rows")
    log_linger_ms: float = _default("log_linger_ms")
    log_in_event_loop: bool | None = None
    monitor_refresh_s: float = 30.0
    monitor_rules: tuple[dict[str, Any], ...] = ()
    shadow_alias: str | None = _default("shadow_alias")
    applicant_ref_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        monitor_rules: tuple[dict[str, Any], ...] = (),
        applicant_ref_key: bytes | None = None,
    ) -> ServiceConfig:
        """The service's configuration from the settings (``RISKLOOP_*``), the monitor's
        alert rules (read from ``monitoring.yml`` by the caller) and the applicant reference
        key (the caller reads or creates it)."""
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        return cls(
            admin_token=token or None,
            loopback=settings.listens_on_loopback,
            auth_failure_limit=settings.auth_failure_limit,
            auth_failure_window_s=settings.auth_failure_window_s,
            max_body_bytes=settings.max_body_bytes,
            max_batch_rows=settings.max_batch_rows,
            max_in_flight=settings.max_in_flight,
            max_waiting=settings.max_waiting,
            max_wait_s=settings.max_wait_s,
            body_timeout_s=settings.body_timeout_s,
            reload_interval_s=settings.reload_interval_s,
            log_max_batch_rows=settings.log_max_batch_rows,
            log_linger_ms=settings.log_linger_ms,
            monitor_rules=monitor_rules,
            shadow_alias=settings.shadow_alias or None,
            applicant_ref_key=applicant_ref_key,
        )
