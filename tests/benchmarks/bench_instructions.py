"""Per-call overhead in *instructions*, counted by valgrind's callgrind: deterministic, unlike
timings on a shared machine (the CPU benchmark, ``bench_overhead.py``, moves by several µs
between runs here).

Each variant runs in its own process under ``valgrind --tool=callgrind`` twice, with ``N1`` and
``N2`` real boto3 ``GetItem`` calls answered by a canned response (the same client set-up as
``bench_overhead.py``); ``(I(N2) - I(N1)) / (N2 - N1)`` is the instruction count of one call,
start-up and imports cancelled out. Background threads (queued sinks) are counted too: each run
flushes its sinks before it ends. µs figures convert with the plain variant's own µs per call
from ``bench_overhead.py`` (about 500 µs for 1.9 M instructions here), so they are indicative.

    python tests/benchmarks/bench_instructions.py [--variants plain,plugin,noop,memory,emf]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import sys
sys.path.insert(0, {here!r})
import bench_overhead as b
import boto_resilience
variant, n = sys.argv[1], int(sys.argv[2])
c = b.make_client()
if variant == "plugin":
    boto_resilience.attach(c)
elif variant == "noop":
    boto_resilience.attach(c, metrics=[b.NoopSink()])
elif variant != "plain":
    boto_resilience.attach(c, metrics=[variant])
for _ in range(n):
    c.get_item(TableName="t", Key={{"pk": {{"S": "a"}}}})
cover = getattr(c, "_boto_resilience_engine", None)
if cover is not None:
    cover.engine.dispatcher.flush()
"""


def instructions(variant: str, calls: int) -> int:
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-c", CHILD.format(here=HERE), variant, str(calls)],
        capture_output=True, text=True, timeout=900)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise SystemExit(f"callgrind failed for {variant}: {done.stderr[-2000:]}")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="plain,plugin,noop,memory,emf,prometheus")
    parser.add_argument("--n1", type=int, default=200)
    parser.add_argument("--n2", type=int, default=1200)
    parser.add_argument("--us-per-call", type=float, default=500.0,
                        help="plain botocore's µs per call, to convert instructions to µs")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 2
    per_call = {}
    for variant in args.variants.split(","):
        low, high = instructions(variant, args.n1), instructions(variant, args.n2)
        per_call[variant] = (high - low) / (args.n2 - args.n1)
    plain = per_call.get("plain")
    print(f"instructions per GetItem call (callgrind, {args.n2 - args.n1} calls difference)")
    print(f"{'variant':<12}{'instr/call':>12}{'vs plain':>12}{'ratio':>8}{'~µs vs plain':>14}")
    for variant, value in per_call.items():
        if plain:
            delta = value - plain
            print(f"{variant:<12}{value:>12,.0f}{delta:>+12,.0f}{value / plain:>8.3f}"
                  f"{delta / plain * args.us_per_call:>+14.1f}")
        else:
            print(f"{variant:<12}{value:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
