"""Renders the ratio table of scripts/bench-ratios from its ratios.jsonl (argv: the file).

Prints Markdown: the raw figures per server, operation and connection count, then issue 17's
ratios, each computed from figures of this one run."""

import json
import sys


def main(path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    by = {(r["server"], r["scenario"], r["connections"]): r for r in rows}
    loads = sorted({r.get("load", "?") for r in rows})
    print("| server | operation | connections | ops/s | p50 ms | p99 ms | server CPU µs/op | peak RSS KiB | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        name = {"minimal": "minimal responder (raw tokio)", "same-stack": "fixed reply, same stack",
                "agent": "agent"}.get(r["server"], r["server"])
        if r.get("failed"):
            print(f"| {name} | {r['scenario']} | {r['connections']} | failed | | | | | |")
            continue
        print(f"| {name} | {r['scenario']} | {r['connections']} | {r['ops_per_s']:,} | {r['p50_ms']} | "
              f"{r['p99_ms']} | {r['server_cpu_us_per_op']} | {r['server_peak_rss_kib']} | {r['errors']} |")
    print(f"\n1-minute load average when each figure was taken: {', '.join(loads)}.\n")

    def get(server, scenario, conns, field):
        r = by.get((server, scenario, conns))
        if not r or r.get("failed") or not r.get(field):
            return None
        return float(r[field])

    conns = sorted({r["connections"] for r in rows})
    ratios = [
        ("same-stack fixed reply / minimal responder, rate", "≥ 80%",
         lambda c: pct(get("same-stack", "Identify", c, "ops_per_s"), get("minimal", "Identify", c, "ops_per_s"))),
        ("Identify / same-stack fixed reply, rate", "≥ 85%",
         lambda c: pct(get("agent", "Identify", c, "ops_per_s"), get("same-stack", "Identify", c, "ops_per_s"))),
        ("same-stack fixed reply / minimal responder, CPU per op", "—",
         lambda c: times(get("same-stack", "Identify", c, "server_cpu_us_per_op"),
                         get("minimal", "Identify", c, "server_cpu_us_per_op"))),
        ("Enumerate+Pull of 64 / Get, CPU", "≤ 4x",
         lambda c: times(get("agent", "Enumerate", c, "server_cpu_us_per_op"), get("agent", "Get", c, "server_cpu_us_per_op"))),
        ("Enumerate+Pull of 64 / Identify, CPU", "≤ 8x",
         lambda c: times(get("agent", "Enumerate", c, "server_cpu_us_per_op"), get("agent", "Identify", c, "server_cpu_us_per_op"))),
        ("Get / Identify, CPU", "≤ 1.5x",
         lambda c: times(get("agent", "Get", c, "server_cpu_us_per_op"), get("agent", "Identify", c, "server_cpu_us_per_op"))),
    ]
    print("| ratio (issue 17) | target (16 connections) | " + " | ".join(f"{c} conn." for c in conns) + " |")
    print("|---|---|" + "---:|" * len(conns))
    for name, target, f in ratios:
        print(f"| {name} | {target} | " + " | ".join(f(c) for c in conns) + " |")


def pct(a, b):
    return f"{a / b:.0%}" if a is not None and b else "—"


def times(a, b):
    return f"{a / b:.1f}x" if a is not None and b else "—"


if __name__ == "__main__":
    main(sys.argv[1])
