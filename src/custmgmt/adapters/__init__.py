"""Adapters implement the ports. Only app.py knows which ones are in use."""
