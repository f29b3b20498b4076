"""Render the model card (markdown) from a run's numbers with a jinja2 template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).with_name("templates")


def render_model_card(context: dict[str, Any]) -> str:
    """Fill ``templates/model_card.md.j2`` with ``context`` (every number comes from the run).

    Undefined names raise, so a missing number is an error, never a silently blank field.
    """
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # markdown, not HTML
    )
    return environment.get_template("model_card.md.j2").render(**context)
