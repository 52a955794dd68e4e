"""The bots' SLOs: one OpenSLO source (examples/slo/bots.openslo.yaml) and the Prometheus rules, Datadog SLOs and
monitors and Grafana dashboard generated from it (docs/slo.md)."""
