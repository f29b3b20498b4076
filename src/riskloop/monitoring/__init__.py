"""Watching the model in service: drift of inputs against the training reference."""
