"""Measuring models: discrimination, calibration, drift."""
