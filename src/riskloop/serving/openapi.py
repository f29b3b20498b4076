"""The OpenAPI document follows the model in service: the ``Applicant`` schema is the loaded
model's request type (its fields, ranges and categories), rebuilt when another version is
published. The scoring routes read raw bytes (validated by the model's prebuilt type, not by
FastAPI), so their request bodies point at that schema by reference."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from riskloop.serving.model_holder import LoadedModel, ModelHolder


def request_body(ref: str, description: str) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose body is the schema ``ref`` built from the model."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        }
    }


class ModelOpenAPI:
    """``app.openapi``: FastAPI's document plus ``Applicant`` and ``ApplicantBatch`` of the model
    in service, cached until another model is published.

    Parameters
    ----------
    app : FastAPI
        The app whose routes are described.
    holder : ModelHolder
        Holds the model in service.
    max_batch_rows : int
        Most applications per batch (``maxItems`` of ``ApplicantBatch``).
    """

    def __init__(self, app: FastAPI, holder: ModelHolder, max_batch_rows: int):
        self.app = app
        self.holder = holder
        self.max_batch_rows = max_batch_rows
        self._built_for: LoadedModel | None = None

    def __call__(self) -> dict[str, Any]:
        app, model = self.app, self.holder.current
        if app.openapi_schema and model is self._built_for:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Applicant"] = self._applicant(model, components)
        components["ApplicantBatch"] = {
            "title": "ApplicantBatch",
            "type": "object",
            "properties": {
                "applications": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Applicant"},
                    "minItems": 1,
                    "maxItems": self.max_batch_rows,
                }
            },
            "required": ["applications"],
            "additionalProperties": False,
        }
        app.openapi_schema, self._built_for = schema, model
        return schema

    @staticmethod
    def _applicant(model: LoadedModel | None, components: dict[str, Any]) -> dict[str, Any]:
        if model is None:
            return {"type": "object", "description": "no model is loaded yet"}
        applicant = model.request_model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(applicant.pop("$defs", {}))
        applicant["title"] = "Applicant"
        applicant["description"] = (
            f"One application for {model.name} version {model.version}:"
            " the fields of GET /v1/schema, an optional application_id and an optional"
            " applicant_id (never stored: see applicant_ref)"
        )
        return applicant
