"""Renders the HTTPS section of BENCHMARKS.md from scripts/bench-tls.py's JSON (argv: file)."""

import json
import sys


def render(r: dict) -> str:
    h = r["handshake_tls13"]
    lines = [
        "## HTTPS (scripts/bench-tls.py)\n",
        "Sequential requests from one Python client on CPU 1 to the agent on CPU 0 (64-sensor bench",
        "board), so these are latencies, not throughput; server CPU is measured from /proc with the",
        f"agent's idle CPU ({r['idle_server_cpu_percent']}% of a core, the poller) taken out.\n",
        "- A new connection with a full TLS 1.3 handshake (ECDSA P-256 certificate, X25519, no",
        f"  resumption) and one Identify: p50 {h['p50_ms']} ms at the client, server CPU",
        f"  {h['server_cpu_us']} µs ({h['count']} connections); the keep-alive Identify below is the",
        "  part of that which is not the handshake.\n",
        "| operation | HTTP p50 ms | HTTPS p50 ms | HTTP p99 ms | HTTPS p99 ms | HTTP server µs/op | HTTPS server µs/op |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in ("Identify", "Get", "Enumerate"):
        a, b = r["http"][op], r["https"][op]
        lines.append(
            f"| {op} | {a['p50_ms']} | {b['p50_ms']} | {a['p99_ms']} | {b['p99_ms']} | "
            f"{a['server_cpu_us']} | {b['server_cpu_us']} |"
        )
    lines.append(
        "\nOne keep-alive connection per column, HTTP Basic (cached verification); Enumerate is an"
    )
    lines.append("optimized Enumerate (MaxElements 32) plus the Pulls that finish the 64 items.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(render(json.load(f)))
