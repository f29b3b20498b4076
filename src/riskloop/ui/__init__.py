"""Streamlit UI: a client of the scoring API over HTTP; it imports no model code."""
