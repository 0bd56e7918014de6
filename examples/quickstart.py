"""The main example: both retry patterns the plugin replaces, run offline.

    python examples/quickstart.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import throttled_api  # noqa: E402
import transient_errors  # noqa: E402

if __name__ == "__main__":
    print("== A throttled API (TooManyRequestsException) ==")
    throttled_api.main()
    print("\n== Transient errors with exponential backoff ==")
    transient_errors.main()
