"""The UI's settings: where the scoring API is and the key it sends. Read by the Streamlit
app (``ui/app.py``), the UI's edge, once per page run; the pages get the client it builds."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "http://127.0.0.1:8000"


class UISettings(BaseSettings):
    """Every field can be set with ``RISKLOOP_<FIELD>`` in the environment (the same name the
    rest of riskloop uses; the UI imports none of it)."""

    model_config = SettingsConfigDict(env_prefix="RISKLOOP_", extra="ignore")

    api_url: str = Field(DEFAULT_API_URL, description="the scoring API's base address")
    oidc_issuer: str | None = Field(
        None,
        description="set: people sign in through this OpenID Connect provider and the UI calls"
        " the API with their own ID token (`riskloop ui` configures Streamlit's sign-in)",
    )
    # `riskloop serve --ui` and `riskloop ui` pass the local admin key here
    api_key: SecretStr | None = Field(None, description="the key the UI sends to the API")

    @property
    def api_key_value(self) -> str | None:
        """The key itself, to hand to the client."""
        return self.api_key.get_secret_value() if self.api_key else None
