"""Contracts every service agrees on: event schema, settings, Redis layout, windows, messages."""
