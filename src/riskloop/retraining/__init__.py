"""Retraining: train a challenger and let the registration gate decide."""
