"""What the state costs at scale: many bots, both backends, the receiver's own loop (`run`) in real time.

    python -m benchmarks.state_scale [--bots 1000,5000] [--backends file,kubernetes] [--interval 10]
                                     [--intervals 3] [--rate 0.005] [--receiver-path DIR]

The emulator (its own process) serves the bots with live traffic at ``--rate`` entries/s per bot, so each
sweep some bots deliver and the others poll quietly with entries in their trailing window; the receiver
(`run`, its own process, benchmarks/state_scale_child.py counting its state writes) polls every
``--interval`` seconds with a request budget that does not bind (DESK_MAX_RPS 1000). The ConfigMap backend
runs on the Kubernetes API stand-in (devkit/kube_api, in this process; leader election off, so only state
requests are counted). After the first sweep (each bot found and its end of listing read), the figures
are taken over ``--intervals`` poll intervals: Desk webhook_logs requests per interval against the floor
(one per bot), receiver CPU per sweep, state documents and bytes written per sweep (with the ConfigMap:
PUT requests and bytes the API received), and the size of the state. ``--receiver-path`` runs the receiver
from another checkout (an older version, for before/after figures).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.processes import TOKEN, BenchmarkError, EmulatorProcess, SinkProcess

NAMESPACE = "bench"
KUBE_TOKEN = "bench-kube-token"
CONFIGMAP = "otel-desk-receiver-state"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.state_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", default="1000,5000", help="comma-separated bot counts")
    parser.add_argument("--backends", default="file,kubernetes")
    parser.add_argument("--interval", type=float, default=10.0, help="DESK_POLL_INTERVAL, seconds")
    parser.add_argument("--intervals", type=int, default=3, help="poll intervals measured")
    parser.add_argument("--rate", type=float, default=0.005, help="live entries per second per bot")
    parser.add_argument("--warmup-s", type=float, default=600.0, help="longest wait for the first sweep")
    parser.add_argument("--receiver-path", type=Path, default=None)
    return parser.parse_args(argv)


class LiveEmulator(EmulatorProcess):
    """The emulator with live traffic on every bot (EmulatorProcess serves settled history only)."""

    def __init__(self, bots: int, rate: float):
        args = [sys.executable, "-m", "otel_desk_receiver", "emulator", "--port", "0", "--token", TOKEN, "--control",
                "--bots", str(bots), "--faq-bots", "0", "--rate", str(rate), "--error-ratio", "0",
                "--timeout-ratio", "0", "--reply-delay", "0.5"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if "serving " not in line:
            raise BenchmarkError(f"the emulator did not start (exit {self.process.poll()}): {line!r}")
        self.url = line.split("serving ", 1)[1].split()[0]
        self.control_url = self.url.rsplit("/platform/v1", 1)[0] + "/_emulator"
        self.ps = psutil.Process(self.process.pid)

    def webhook_log_requests(self) -> int:
        return sum(n for path, n in self.stats()["by_path"].items() if "webhook_logs" in path)


class KubeApi:
    """The stand-in API in this process, with a kubeconfig pointing at it."""

    def __init__(self, work: Path):
        import yaml

        from otel_desk_receiver.devkit.kube_api import KubeApiServer

        self.api = KubeApiServer().start()
        self.api.add_service_account(KUBE_TOKEN, NAMESPACE, "otel-desk-receiver")
        self.kubeconfig = work / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "stand-in", "cluster": {"server": self.api.url}}],
            "users": [{"name": "receiver", "user": {"token": KUBE_TOKEN}}],
            "contexts": [{"name": "bench", "context": {"cluster": "stand-in", "user": "receiver",
                                                       "namespace": NAMESPACE}}]}))

    def puts(self) -> tuple[int, int]:
        key = ("PUT", "configmaps")
        return self.api.requests[key], self.api.bytes_received[key]

    def state_bytes(self) -> int:
        try:
            obj = self.api.store.get("configmaps", NAMESPACE, CONFIGMAP)
        except Exception:  # noqa: BLE001 - not created yet
            return 0
        return len((obj.get("data") or {}).get("state.json", "").encode())

    def stop(self) -> None:
        self.api.stop()


def counts(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"documents": 0, "bytes": 0}


def measure(bots: int, backend: str, args, work: Path) -> dict:
    emulator, sink, kube, receiver = LiveEmulator(bots, args.rate), SinkProcess(), None, None
    try:
        state_path, counts_path = work / f"state-{backend}-{bots}.json", work / f"counts-{backend}-{bots}.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DESK_", "OTEL_", "KUBE"))}
        env.update({"DESK_API_URL": emulator.url, "DESK_API_TOKEN": TOKEN, "DESK_STATE_PATH": str(state_path),
                    "DESK_HEALTH_ADDR": "", "DESK_LOG_LEVEL": "WARNING", "DESK_MAX_RPS": "1000",
                    "DESK_POLL_INTERVAL": str(args.interval), "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoints["http/protobuf"],
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_METRIC_EXPORT_INTERVAL": "60000",
                    "BENCH_STATE_COUNTS": str(counts_path)})
        # The child runs as a script, so that the receiver's package comes from PYTHONPATH: this checkout, or
        # --receiver-path.
        env["PYTHONPATH"] = str(args.receiver_path or Path(__file__).resolve().parent.parent)
        if backend == "kubernetes":
            kube = KubeApi(work)
            env.update({"DESK_STATE_BACKEND": "kubernetes", "DESK_STATE_CONFIGMAP": CONFIGMAP,
                        "DESK_LEADER_ELECTION": "false", "KUBECONFIG": str(kube.kubeconfig)})
        log = (work / f"receiver-{backend}-{bots}.log").open("wb")
        child = [sys.executable, str(Path(__file__).with_name("state_scale_child.py"))]
        receiver = subprocess.Popen(child, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=work)
        ps = psutil.Process(receiver.pid)
        deadline = time.monotonic() + args.warmup_s
        while emulator.webhook_log_requests() < 2 * bots:  # first sweep: the end of each listing, then a page
            if receiver.poll() is not None:
                return {"bots": bots, "backend": backend, "refused": _last_error(work, backend, bots, receiver)}
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{backend}, {bots} bots: no first sweep; see {log.name}")
            time.sleep(0.5)
        if _exits_within(receiver, 2 * args.interval):  # into the steady state
            return {"bots": bots, "backend": backend, "refused": _last_error(work, backend, bots, receiver)}
        cpu0, req0, saved0 = _cpu(ps), emulator.webhook_log_requests(), counts(counts_path)
        desk_cpu0 = emulator.cpu_s()
        puts0 = kube.puts() if kube else (0, 0)
        started = time.monotonic()
        time.sleep(args.interval * args.intervals)
        elapsed = time.monotonic() - started
        cpu1, req1, saved1 = _cpu(ps), emulator.webhook_log_requests(), counts(counts_path)
        desk_cpu1 = emulator.cpu_s()
        puts1 = kube.puts() if kube else (0, 0)
        if receiver.poll() is not None:
            raise BenchmarkError(f"{backend}, {bots} bots: the receiver exited {receiver.returncode}; see {log.name}")
        sweeps = elapsed / args.interval
        size = kube.state_bytes() if kube else (state_path.stat().st_size if state_path.exists() else 0)
        return {"bots": bots, "backend": backend, "elapsed_s": elapsed,
                "requests_per_interval": (req1 - req0) / sweeps, "floor": bots,
                "cpu_per_sweep_s": (cpu1 - cpu0) / sweeps, "emulator_cpu_per_sweep_s": (desk_cpu1 - desk_cpu0) / sweeps,
                "documents_per_sweep": (saved1["documents"] - saved0["documents"]) / sweeps,
                "bytes_per_sweep": (saved1["bytes"] - saved0["bytes"]) / sweeps,
                "puts_per_sweep": (puts1[0] - puts0[0]) / sweeps, "put_bytes_per_sweep": (puts1[1] - puts0[1]) / sweeps,
                "state_bytes": size}
    finally:
        if receiver is not None and receiver.poll() is None:
            receiver.terminate()
            receiver.wait(timeout=15)
        emulator.stop()
        sink.stop()
        if kube is not None:
            kube.stop()


def _last_error(work: Path, backend: str, bots: int, receiver) -> str:
    """The receiver stopped (the ConfigMap cannot hold this many bots, say): its exit code and last error line."""
    lines = (work / f"receiver-{backend}-{bots}.log").read_text(errors="replace").splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    return f"exit {receiver.wait()}: {(errors or lines or ['no output'])[-1]}"


def _exits_within(process: subprocess.Popen, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def _cpu(ps: psutil.Process) -> float:
    times = ps.cpu_times()
    return times.user + times.system


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")
    print(f"setup: poll interval {args.interval:g} s, {args.rate:g} entries/s per bot, {args.intervals} intervals "
          f"measured after the first sweep, DESK_MAX_RPS 1000" +
          (f", receiver from {args.receiver_path}" if args.receiver_path else ""))
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        for bots in (int(b) for b in args.bots.split(",")):
            for backend in args.backends.split(","):
                r = measure(bots, backend, args, Path(tmp))
                label = f"{r['backend']} {r['bots']} bots"
                if "refused" in r:
                    print(f"{label} refused: {r['refused']}")
                    sys.stdout.flush()
                    continue
                print(f"{label} desk requests per interval: {r['requests_per_interval']:.0f} (floor {r['floor']})")
                print(f"{label} receiver cpu per sweep: {r['cpu_per_sweep_s']:.2f} s (the emulator's: "
                      f"{r['emulator_cpu_per_sweep_s']:.2f} s)")
                print(f"{label} state writes per sweep: {r['documents_per_sweep']:.2f} documents, "
                      f"{r['bytes_per_sweep'] / 1024:.0f} KiB")
                if r["backend"] == "kubernetes":
                    print(f"{label} configmap puts per sweep: {r['puts_per_sweep']:.2f}, "
                          f"{r['put_bytes_per_sweep'] / 1024:.0f} KiB received by the API")
                print(f"{label} state size: {r['state_bytes'] / 1024:.0f} KiB ({r['state_bytes'] / r['bots']:.0f} bytes a bot)")
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
