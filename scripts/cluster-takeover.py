#!/usr/bin/env python3
"""Kills a node of a cluster and times how long its partitions of ordering keys stay without a
holder (scripts/cluster-benchmark, "takeover").

    cluster-takeover.py PID VICTIM_URL SURVIVOR_URL…

Reads the partitions the victim holds from its /ready, kills PID with SIGKILL, then reads every
survivor's /ready each 20 ms until each of those partitions is held by a survivor (or 30 s have
passed). Prints JSON: {"killedAtMs": epoch ms, "partitions": {"<partition>": ms after the kill}},
and exits 1 if a partition was not taken over in time.
"""

import json
import os
import signal
import sys
import time
import urllib.request

POLL_SECONDS = 0.02
GIVE_UP_SECONDS = 30.0


def held(url):
    """The partitions the node at `url` holds, by its /ready; empty when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=1) as response:
            report = json.load(response)
    except (OSError, ValueError):
        return set()
    holdings = (report.get("node") or {}).get("holdings") or {}
    return set(holdings.get("partitions") or [])


def main():
    pid, victim, survivors = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    orphans = held(victim)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    killed_at_ms = int(time.time() * 1000)
    taken = {}
    while len(taken) < len(orphans) and time.monotonic() - killed < GIVE_UP_SECONDS:
        now_held = set().union(*(held(url) for url in survivors))
        elapsed_ms = round((time.monotonic() - killed) * 1000)
        for partition in orphans & now_held:
            taken.setdefault(str(partition), elapsed_ms)
        time.sleep(POLL_SECONDS)
    json.dump({"killedAtMs": killed_at_ms, "partitions": taken}, sys.stdout)
    if len(taken) < len(orphans):
        print(f"{len(orphans) - len(taken)} partitions not taken over", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
