"""The UI's settings: where the scoring API is. Read by the Streamlit app (``ui/app.py``), the
UI's edge, once per page run; the pages get the client it builds."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "http://127.0.0.1:8000"


class UISettings(BaseSettings):
    """Every field can be set with ``RISKLOOP_<FIELD>`` in the environment (the same name the
    rest of riskloop uses; the UI imports none of it)."""

    model_config = SettingsConfigDict(env_prefix="RISKLOOP_", extra="ignore")

    api_url: str = Field(DEFAULT_API_URL, description="the scoring API's base address")
