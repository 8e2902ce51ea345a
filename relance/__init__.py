"""Relance: receivables ledger and payment-reminder engine."""

__version__ = "0.1.0"
