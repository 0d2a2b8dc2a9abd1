"""What the local stack can run, in start order, and what each part needs running first."""

from __future__ import annotations

from localstack.component import Component
from localstack.flink import Flink
from localstack.infra import Kafka, Postgres, Redis
from localstack.services import FlinkJob, ServiceProcess
from localstack.settings import StackSettings

INFRA = ("redis", "postgres", "kafka", "flink")
APP = ("track", "job", "heartbeat", "sync", "api")
DEMO = ("loadgen",)
GROUPS = {"infra": INFRA, "app": APP, "demo": DEMO, "all": INFRA + APP + DEMO}
# What each component needs running first: `up track` starts Kafka too instead of waiting for it.
NEEDS = {
    "track": ("kafka",),
    "job": ("redis", "kafka", "flink"),
    "heartbeat": ("kafka",),
    "sync": ("redis", "postgres"),
    "api": ("redis", "postgres"),
    "loadgen": ("track",),
}


def components(settings: StackSettings) -> list[Component]:
    """Everything the local stack can run, in start order."""
    s = settings
    return [
        Redis("redis", s),
        Postgres("postgres", s),
        Kafka("kafka", s),
        Flink("flink", s),
        ServiceProcess("track", s, module="track_service", port=s.track_port, health_path="/health",
                       port_variable="TRACK_PORT"),
        FlinkJob("job", s),
        ServiceProcess("heartbeat", s, module="flink_service.heartbeat"),
        ServiceProcess("sync", s, module="sync_service", port=s.sync_metrics_port or None,
                       health_path="/metrics", port_variable="SYNC_METRICS_PORT"),
        ServiceProcess("api", s, module="api_service", port=s.api_port, health_path="/health",
                       port_variable="API_PORT"),
        ServiceProcess("loadgen", s, module="tools.loadgen",
                       args=("--via", "http", "--url", f"http://localhost:{s.track_port}",
                             "--rate", str(s.loadgen_rate), "--duration", str(365 * 86400), "--jitter-ms", "2000",
                             # Small batches spread the traffic evenly over each second.
                             "--batch-size", str(max(1, int(s.loadgen_rate / 4))), "--quiet")),
    ]


def selected(settings: StackSettings, names: list[str], with_needs: bool = False) -> list[Component]:
    """The named components (or groups) in start order; `with_needs` adds what they need, transitively."""
    wanted: set[str] = set()
    for name in names or ["all"]:
        wanted.update(GROUPS.get(name, (name,)))
    if settings.loadgen_rate == 0:
        wanted.discard("loadgen")
    pending = list(wanted) if with_needs else []
    while pending:
        for need in NEEDS.get(pending.pop(), ()):
            if need not in wanted:
                wanted.add(need)
                pending.append(need)
    return [c for c in components(settings) if c.name in wanted]

