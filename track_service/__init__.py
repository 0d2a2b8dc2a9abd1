"""Ingestion service: POST /track and /track/batch -> the events topic in Kafka (seed phase 1)."""
