"""Gymnasium and PettingZoo environments over the mock engine."""
