"""``boto-resilience``: run a program covered, show the effective configuration, classify an
error code, or run the demo.

    boto-resilience run -- python app.py      # BOTO_RESILIENCE=1 for that program
    boto-resilience config                    # every setting, its value and where it came from
    boto-resilience classify NoSuchKey --service s3
    boto-resilience demo
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional


def _cmd_run(command: list[str]) -> int:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.stderr.write("boto-resilience run: give a command, e.g. "
                         "boto-resilience run -- python app.py\n")
        return 2
    # The startup hook is a .pth file in the environment boto_resilience is installed in, so
    # the command must run a Python of that environment (as `python app.py` in it does). We do
    # not touch PYTHONPATH: .pth files are not read from it, and prepending site-packages to
    # every child interpreter could shadow their own packages.
    env = dict(os.environ)
    env["BOTO_RESILIENCE"] = "1"
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        sys.stderr.write(f"boto-resilience run: cannot run {command[0]!r}: {exc}\n")
        return 127
    return 0  # pragma: no cover - execvpe does not return


def _cmd_config() -> int:
    from boto_resilience import config

    cfg, problems = config.from_environment()
    rows = cfg.describe()
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    enabled = config.env_flag_enabled(os.environ)
    print(f"BOTO_RESILIENCE={'on' if enabled else 'off'} (startup hook "
          f"{'enabled' if enabled else 'disabled'})")
    for name, value, source in rows:
        print(f"{name:<{width}}  {value:<{vwidth}}  {source}")
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _cmd_classify(code: str, service: Optional[str], status: Optional[int]) -> int:
    from boto_resilience import taxonomy

    category, why = taxonomy.explain_code(code, status, service)
    retryable = category in taxonomy.RETRYABLE_CATEGORIES
    print(f"{code}: {category.value} (retryable: {'yes' if retryable else 'no'})")
    print(f"why: {why}")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="boto-resilience", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run a command with BOTO_RESILIENCE=1")
    run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("config", help="print the effective configuration and its sources")
    cls = sub.add_parser("classify", help="print the category of an AWS error code, and why")
    cls.add_argument("code")
    cls.add_argument("--service", help="boto3 client name, e.g. s3, dynamodb")
    cls.add_argument("--status", type=int, help="HTTP status code")
    demo = sub.add_parser("demo", help="real boto3 calls against moto with injected faults")
    demo.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd == "run":
        return _cmd_run(list(args.command))
    if args.cmd == "config":
        return _cmd_config()
    if args.cmd == "classify":
        return _cmd_classify(args.code, args.service, args.status)
    from boto_resilience import demo as demo_mod

    return int(demo_mod.main(list(args.rest)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
