"""The demo's setup: its receiver settings, its process environment, and the same by hand."""

import argparse
import os
from pathlib import Path

from otel_desk_receiver.config import Settings
from otel_desk_receiver.devkit.emulator.command import DEFAULT_TOKEN, add_traffic_arguments

POLL_INTERVAL_S = 2.0
SETTLE_GRACE_S = 5.0  # SENT entries settle by age quickly, so the BY AGE column fills in a demo
BACKFILL_DAYS = 1  # reads the preloaded history at once, so the first screen has numbers
MAX_RPS = 50.0  # a loopback emulator: no need for Desk's pace
METRIC_EXPORT_INTERVAL_MS = "1000"
TRAFFIC_DEFAULTS = {"rate": 1.0, "history_days": 0.05, "history_per_bot": 60}


def demo_environment(environ, *, endpoint: str, protocol: str, embedded: bool) -> dict[str, str]:
    """The process environment while the demo runs: the demo's own settings win over the shell's.

    DESK_* would override the demo's Settings (the environment wins over arguments), so they go. For the
    embedded endpoint every OTEL_EXPORTER_OTLP_* goes too (a per-signal endpoint would win over ours); for
    --otlp-endpoint only the per-signal endpoint and protocol go, so headers, TLS and the like still apply.
    """
    env = {k: v for k, v in environ.items() if not k.startswith("DESK_")}
    if embedded:
        drop = ("OTEL_EXPORTER_OTLP_", "OTEL_METRIC_EXPORT_", "OTEL_SDK_DISABLED")
        env = {k: v for k, v in env.items() if not k.startswith(drop)}
    else:
        for name in ("LOGS_ENDPOINT", "METRICS_ENDPOINT", "LOGS_PROTOCOL", "METRICS_PROTOCOL"):
            env.pop(f"OTEL_EXPORTER_OTLP_{name}", None)
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
    env.setdefault("OTEL_METRIC_EXPORT_INTERVAL", METRIC_EXPORT_INTERVAL_MS)
    return env


def become_environment(env: dict[str, str]) -> None:
    """Make os.environ exactly env."""
    for name in set(os.environ) - set(env):
        del os.environ[name]
    os.environ.update(env)


def demo_settings(api_url: str, token: str, state_path: Path, log_level: str) -> Settings:
    return Settings(api_token=token, api_url=api_url, poll_interval=POLL_INTERVAL_S, settle_grace=SETTLE_GRACE_S,
                    backfill_days=BACKFILL_DAYS, state_path=state_path, max_rps=MAX_RPS, health_addr="",
                    log_level=log_level)


def hand_env(settings: Settings, endpoint: str, protocol: str) -> dict[str, str]:
    """The variables that make `otel-desk-receiver run` poll as the demo does."""
    return {
        "DESK_API_URL": settings.base_url, "DESK_API_TOKEN": settings.api_token.get_secret_value(),
        "DESK_POLL_INTERVAL": f"{settings.poll_interval:g}", "DESK_SETTLE_GRACE": f"{settings.settle_grace:g}",
        "DESK_BACKFILL_DAYS": str(settings.backfill_days), "DESK_MAX_RPS": f"{settings.max_rps:g}",
        "DESK_STATE_PATH": "./demo.state.json", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol, "OTEL_METRIC_EXPORT_INTERVAL": METRIC_EXPORT_INTERVAL_MS,
    }


def emulator_options(args: argparse.Namespace, port: int) -> list[str]:
    """`otel-desk-receiver emulator` options serving the same generated bots and traffic."""
    defaults = argparse.ArgumentParser(add_help=False)
    add_traffic_arguments(defaults)
    options = ["--port", str(port), "--token", DEFAULT_TOKEN]
    for action in defaults._actions:
        value = getattr(args, action.dest)
        if value != action.default or action.dest in TRAFFIC_DEFAULTS:
            options += [action.option_strings[0], str(value)]
    return options
