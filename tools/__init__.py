"""Command-line tools around the pipeline, not part of any service.

- `python -m tools.loadgen`: realistic, reproducible traffic into /track/batch, /track or Kafka.
- `python -m tools.tail`: the events in the topic as JSON lines.
- `python -m tools.topic_admin`: create the events topic from settings (what track_service does at start).

The old paths (`python -m track_service.loadgen`, `.tail`, `.admin`) still run them.
"""
