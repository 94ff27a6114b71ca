"""Notifiers that reach outside the process."""
