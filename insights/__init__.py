"""Demand Insights Engine services: one module per insight, plus config, snapshot store, refresh and CLI."""
