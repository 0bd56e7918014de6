"""Storm benchmark: botocore's retry modes (and boto_resilience) against injected faults.

Each *set-up* is one boto3 DynamoDB client shared by 32 threads that call ``GetItem`` in a loop
for the scenario's duration, against the fault server running in a separate process (so its
threads do not compete with the client's for this interpreter's GIL):

``legacy`` / ``standard`` / ``adaptive``
    botocore's own retry modes with their default attempt counts.
``resilience``
    a ``standard``-mode client with ``boto_resilience.attach(client)``: see ``plugin_setup``,
    the one place the plugin is wired in.

Scenarios (each run once per set-up, well under a minute each):

``overload``  the server admits 150 requests/s (bucket of 15) and throttles the rest with
              400 ``ThrottlingException``.
``outage``    every request fails with 503 for 7 s, from 3 s after the start; 4 s after it.
``flaky``     5 % of requests get 500 ``InternalServerError``, 1 % have their connection dropped.

Per set-up it reports: calls, successes, failures by error code, requests the server received
and the amplification (server requests per call), goodput (successes/s; for ``overload`` also
as a fraction of the capacity), p50/p99 call latency (all completed calls), requests received
during the outage, and the recovery time (from the outage's end to the first success, and to
the first 100 ms bin in which >= 90 % of the calls that ended succeeded). ``time.monotonic``
is CLOCK_MONOTONIC on Linux, shared by both processes, so client and server times compare.

Usage::

    python tests/benchmarks/bench_storm.py                       # all scenarios, all set-ups
    python tests/benchmarks/bench_storm.py --scenario overload --setups standard,resilience
    python tests/benchmarks/bench_storm.py --json out.json --plot out.png

Every loop is bounded in time and count; calls still running when a set-up's time is up are
waited for (bounded) and reported as ``unfinished``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import threading
import time
from collections import Counter
from typing import Any, Callable, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from boto_resilience.fault_server import FaultServerProcess, RemoteFaultServer  # noqa: E402

THREADS = 32
MAX_CALLS_PER_THREAD = 200_000  # a bound, never reached in practice
JOIN_GRACE = 40.0  # seconds to wait for in-flight calls after a set-up's time is up
BIN = 0.1  # seconds per bin of the client-side time series
KEY = {"pk": {"S": "storm"}}


# -- set-ups ---------------------------------------------------------------------------------------
def plugin_setup(client: Any) -> Any:
    # ===================== HOOK: the boto_resilience set-up =====================
    # Everything the plugin needs happens here; the rest of the benchmark is the same for
    # every set-up. Returns the handle (closed after the run).
    import boto_resilience

    return boto_resilience.attach(client)
    # ===========================================================================


@dataclasses.dataclass(frozen=True)
class Setup:
    name: str
    retries: dict[str, Any]
    hook: Optional[Callable[[Any], Any]] = None


SETUPS: dict[str, Setup] = {
    "legacy": Setup("legacy", {"mode": "legacy"}),
    "standard": Setup("standard", {"mode": "standard"}),
    "adaptive": Setup("adaptive", {"mode": "adaptive"}),
    "resilience": Setup("resilience", {"mode": "standard"}, hook=plugin_setup),
}


def make_client(setup: Setup, url: str) -> tuple[Any, Any]:
    config = Config(
        retries=setup.retries,
        max_pool_connections=THREADS,  # one connection per thread: no pool-full churn
        connect_timeout=2,
        read_timeout=5,
    )
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=config,
    )
    handle = setup.hook(client) if setup.hook else None
    return client, handle


# -- scenarios -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    duration: float
    configure: Callable[[RemoteFaultServer], dict[str, Any]]
    capacity: Optional[float] = None  # requests/s the server admits, if limited


SCENARIOS: dict[str, Scenario] = {
    "overload": Scenario(
        "overload", 12.0, lambda srv: srv.throttle(rate=150, burst=15), capacity=150.0
    ),
    "outage": Scenario("outage", 14.0, lambda srv: srv.outage(duration=7.0, start_in=3.0)),
    "flaky": Scenario(
        "flaky", 10.0, lambda srv: srv.random_faults(p500=0.05, pdrop=0.01, seed=7)
    ),
}


# -- one run ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Call:
    start: float
    end: float
    ok: bool
    code: Optional[str]


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def worker(client: Any, stop_at: float, out: list[Call]) -> None:
    for _ in range(MAX_CALLS_PER_THREAD):
        start = time.monotonic()
        if start >= stop_at:
            return
        try:
            client.get_item(TableName="storm", Key=KEY)
            out.append(Call(start, time.monotonic(), True, None))
        except (ClientError, BotoCoreError) as exc:
            out.append(Call(start, time.monotonic(), False, error_code(exc)))
        except Exception as exc:  # the plugin's own fail-fast errors are ClientErrors too
            out.append(Call(start, time.monotonic(), False, error_code(exc)))


def percentile(sorted_values: list[float], q: float) -> Optional[float]:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(math.ceil(q * len(sorted_values))) - 1)]


def run(scenario: Scenario, setup: Setup, srv: RemoteFaultServer) -> dict[str, Any]:
    srv.reset()
    client, handle = make_client(setup, srv.url)
    client.get_item(TableName="storm", Key=KEY)  # warm up: endpoint, credentials, one conn
    srv.reset()
    started = time.monotonic()
    faults = scenario.configure(srv)
    stop_at = started + scenario.duration
    per_thread: list[list[Call]] = [[] for _ in range(THREADS)]
    threads = [
        threading.Thread(target=worker, args=(client, stop_at, per_thread[i]), daemon=True)
        for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at + JOIN_GRACE - time.monotonic()))
    unfinished = sum(t.is_alive() for t in threads)
    ended = time.monotonic()
    stats = srv.stats(timestamps=True)
    if handle is not None and hasattr(handle, "close"):
        handle.close()
    calls = sorted((c for lst in per_thread for c in lst), key=lambda c: c.end)
    return summarize(scenario, setup, started, ended, faults, stats, calls, unfinished)


def summarize(
    scenario: Scenario,
    setup: Setup,
    started: float,
    ended: float,
    faults: dict[str, Any],
    stats: dict[str, Any],
    calls: list[Call],
    unfinished: int,
) -> dict[str, Any]:
    ok = [c for c in calls if c.ok]
    in_window = [c for c in ok if c.end <= started + scenario.duration]
    latencies = sorted(c.end - c.start for c in calls)
    goodput = len(in_window) / scenario.duration
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "setup": setup.name,
        "duration": scenario.duration,
        "wall": round(ended - started, 2),
        "calls": len(calls),
        "successes": len(ok),
        "failures": dict(Counter(c.code for c in calls if not c.ok).most_common()),
        "unfinished": unfinished,
        "server_requests": stats["total"],
        "amplification": round(stats["total"] / max(1, len(calls)), 3),
        "goodput": round(goodput, 1),
        "p50": rnd(percentile(latencies, 0.50)),
        "p99": rnd(percentile(latencies, 0.99)),
        "server_by_status": stats["by_status"],
    }
    if scenario.capacity:
        result["goodput_fraction"] = round(goodput / scenario.capacity, 3)
    outage = faults.get("outage")
    if outage:
        end = outage["end"]
        result["outage_requests"] = stats["outage_requests"]
        first = next((c.end for c in ok if c.end >= end), None)
        result["recovery_first_success"] = rnd(None if first is None else first - end)
        result["recovery_steady"] = rnd(steady_recovery(calls, end))
    # time series: successes and failures per 100 ms bin (client side, by end time), and the
    # server's received requests per second
    nbins = int(math.ceil((ended - started) / BIN))
    succ, fail = [0] * nbins, [0] * nbins
    for c in calls:
        i = min(nbins - 1, max(0, int((c.end - started) / BIN)))
        (succ if c.ok else fail)[i] += 1
    server = [0] * nbins  # requests the server received per bin (same monotonic clock)
    for ts in stats.get("timestamps") or []:
        i = int((ts - started) / BIN)
        if 0 <= i < nbins:
            server[i] += 1
    result["series"] = {"bin": BIN, "successes": succ, "failures": fail, "server": server}
    result["server_per_second"] = stats["by_second"]
    return result


def steady_recovery(calls: list[Call], end: float) -> Optional[float]:
    """Seconds from ``end`` to the start of the first 100 ms bin after it in which >= 90 % of
    the calls that ended succeeded (and at least 5 did)."""
    bins: dict[int, list[int]] = {}
    for c in calls:
        if c.end >= end:
            b = bins.setdefault(int((c.end - end) / BIN), [0, 0])
            b[0] += c.ok
            b[1] += 1
    for i in sorted(bins):
        good, total = bins[i]
        if total >= 5 and good >= 0.9 * total:
            return i * BIN
    return None


def rnd(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 3)


# -- reporting -------------------------------------------------------------------------------------
COLUMNS = [
    ("setup", "{}"), ("calls", "{}"), ("successes", "{}"), ("unfinished", "{}"),
    ("server_requests", "{}"), ("amplification", "{:.3f}"), ("goodput", "{:.1f}"),
    ("goodput_fraction", "{:.3f}"), ("p50", "{:.3f}"), ("p99", "{:.3f}"),
    ("outage_requests", "{}"), ("recovery_first_success", "{:.3f}"),
    ("recovery_steady", "{:.3f}"), ("failures", "{}"),
]


def print_table(results: list[dict[str, Any]]) -> None:
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_scenario.setdefault(r["scenario"], []).append(r)
    for name, rows in by_scenario.items():
        cols = [(k, f) for k, f in COLUMNS if any(k in r for r in rows)]
        cells = [[k for k, _ in cols]] + [
            [fmt.format(r[k]) if r.get(k) is not None else "-" for k, fmt in cols] for r in rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        print(f"\n== {name} ({rows[0]['duration']:g} s, {THREADS} threads) ==")
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def plot(results: list[dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = sorted({r["scenario"] for r in results})
    fig, axes = plt.subplots(len(scenarios), 2, figsize=(14, 3.4 * len(scenarios)),
                             squeeze=False)
    for ax, name in zip(axes[:, 0], scenarios):
        for r in (r for r in results if r["scenario"] == name):
            s = r["series"]
            xs = [i * s["bin"] for i in range(len(s["successes"]))]
            ax.plot(xs, [v / s["bin"] for v in s["successes"]], label=f"{r['setup']} ok/s")
        ax.set_title(f"{name}: goodput")
        ax.set_xlabel("seconds")
        ax.set_ylabel("successful calls/s")
        ax.legend(fontsize="small")
    for ax, name in zip(axes[:, 1], scenarios):
        for r in (r for r in results if r["scenario"] == name):
            s = r["series"]
            xs = [i * s["bin"] for i in range(len(s["server"]))]
            ax.plot(xs, [v / s["bin"] for v in s["server"]], label=r["setup"])
        ax.set_title(f"{name}: load on the server")
        ax.set_xlabel("seconds")
        ax.set_ylabel("requests received/s")
        ax.legend(fontsize="small")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="all", help="overload, outage, flaky or all")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated set-ups")
    parser.add_argument("--duration", type=float, default=None, help="override every duration")
    parser.add_argument("--json", default=None, help="write the full results here")
    parser.add_argument("--plot", default=None, help="write a PNG time series here")
    args = parser.parse_args(argv)
    scenarios = list(SCENARIOS) if args.scenario == "all" else args.scenario.split(",")
    setups = [SETUPS[s] for s in args.setups.split(",")]
    results = []
    with FaultServerProcess(seed=7) as srv:
        for name in scenarios:
            scenario = SCENARIOS[name]
            if args.duration:
                scenario = dataclasses.replace(scenario, duration=args.duration)
            for setup in setups:
                print(f"running {name} / {setup.name} ...", file=sys.stderr, flush=True)
                results.append(run(scenario, setup, srv))
    print_table(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
