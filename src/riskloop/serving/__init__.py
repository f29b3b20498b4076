"""The scoring service: FastAPI app factory, request schemas, the model holder."""
