#!/usr/bin/env python3
"""Prints the figures recorded by one run of the benchmark suite side by side, as a Markdown table.

Input: the JSON lines written by the suite (LEDGER_BENCH_SUMMARY). A figure measured over several
iterations is shown as the median, with the range. Ratios compare the ledger with each other
contender of the same workload on the same metric (> 1: the ledger is faster or smaller); the
targets are issue 7's.
"""
import json
import statistics
import sys
from collections import OrderedDict

# (workload prefix, contender prefix, metric) -> (comparison, bound, text)
TARGETS = [
    ("1 bulk append", "ledger", "events/s", ">=", 500_000, ">= 500 000 events/s"),
    ("2 durable, 64", "ledger", "events/s", ">=", 50_000, ">= 50 000 events/s"),
    ("3 rebuild", "ledger", "events/s", ">=", 3_000_000, ">= 3 M events/s"),
    ("3 rebuild", "ledger", "seconds", "<=", 4, "< 4 s"),
    ("3 rebuild", "ledger", "state memory", "<=", 1536, "<= 1.5 GiB"),
    ("4 catch-up", "ledger", "worst", "<=", 50, "<= 50 ms"),
    ("5 point reads", "case state", "p99", "<=", 50, "<= 50 µs"),
    ("5 point reads", "stream", "p99", "<=", 100, "<= 100 µs"),
    ("6 bytes per event", "ledger (herault", "bytes/event", "<=", 120, "<= 120 B"),
    ("simulate", "ledger", "seconds", "<=", 30, "< 30 s"),
    ("9 ledgerd over HTTP, 64 clients", "ledgerd", "events/s", ">=", 10_000, ">= 10 000 events/s"),
    ("9 ledgerd over HTTP, 64 clients", "ledgerd", "p99", "<=", 25_000, "<= 25 ms"),
    ("9 ledgerd over HTTP, 16 clients, 100", "ledgerd", "events/s", ">=", 150_000, ">= 150 000 events/s"),
    ("9 ledgerd SSE", "ledgerd", "lag p99", "<=", 100, "<= 100 ms"),
]
FASTER_IS_LARGER = {"events/s"}


def target(workload, contender, metric, value):
    for w, c, m, op, bound, text in TARGETS:
        if workload.startswith(w) and contender.startswith(c) and metric == m:
            met = value >= bound if op == ">=" else value <= bound
            return f"{text}: {'met' if met else 'missed'}"
    return ""


def dataset(contender):
    """The data a figure was measured on, when the contender's name says (bytes per event)."""
    for word in ("herault", "bulk mix"):
        if word in contender:
            return word
    return None


def fmt(value):
    if value >= 100:
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def main(path):
    figures = OrderedDict()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            key = (r["workload"], r["contender"], r["metric"])
            figures.setdefault(key, (r["unit"], []))[1].append(r["value"])
    print("| workload | contender | metric | value (median) | runs | ledger ÷ this | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (workload, contender, metric), (unit, values) in sorted(figures.items(), key=lambda kv: kv[0][0]):
        value = statistics.median(values)
        ratio = ""
        ledger = [k for k in figures if k[0] == workload and k[2] == metric and k[1].startswith("ledger")]
        # Compare like with like: a figure on herault-2022 with the ledger's on herault-2022.
        same = [k for k in ledger if dataset(k[1]) == dataset(contender)]
        ledger = same or ledger
        if not contender.startswith("ledger") and ledger:
            mine = statistics.median(figures[ledger[0]][1])
            if value and mine:
                # How many times better the ledger is: faster for rates, smaller for times and sizes.
                r = mine / value if metric in FASTER_IS_LARGER else value / mine
                ratio = f"{r:.2f}×"
        spread = f"{fmt(min(values))}–{fmt(max(values))}" if len(values) > 1 else "1"
        print(
            f"| {workload} | {contender} | {metric} | {fmt(value)} {unit} | {spread} | {ratio} | "
            f"{target(workload, contender, metric, value)} |"
        )
    # Issue 17: ledgerd over HTTP against the in-process group commit of the same run (>= 0.6x).
    http = [k for k in figures if k[0].startswith("9 ledgerd over HTTP, 64") and k[2] == "events/s"]
    local = [k for k in figures if k[0].startswith("2 durable, 64") and k[1] == "ledger" and k[2] == "events/s"]
    if http and local:
        ratio = statistics.median(figures[http[0]][1]) / statistics.median(figures[local[0]][1])
        print()
        print(
            f"ledgerd over HTTP ÷ in-process group commit, 64 clients, one event each: {ratio:.2f}× "
            f"(target >= 0.6×: {'met' if ratio >= 0.6 else 'missed'})"
        )


    # Issue 19: the write side against the limits LMDB sets and against PostgreSQL, in the same run.
    def median(workload, contender, metric):
        keys = [k for k in figures if k[0].startswith(workload) and k[1].startswith(contender) and k[2] == metric]
        return statistics.median(figures[keys[0]][1]) if keys else None

    checks = [
        ("bulk append, ledger ÷ raw MDB_APPEND of the same records", ">=", 0.5,
         median("1 bulk append", "ledger", "events/s"), median("1 bulk append", "raw LMDB", "events/s")),
        ("one durable appender, ledger p50 ÷ raw synced LMDB commit p50", "<=", 1.1,
         median("2 durable, 1 appender", "ledger", "p50"), median("2 durable, 1 appender", "raw LMDB", "p50")),
        ("64 durable appenders, ledger ÷ PostgreSQL", ">=", 3.0,
         median("2 durable, 64", "ledger", "events/s"), median("2 durable, 64", "PostgreSQL", "events/s")),
        ("bytes per event with identities sealed, ledger ÷ PostgreSQL (herault-2022)", "<=", 0.45,
         median("6 bytes per event", "ledger (herault", "bytes/event"),
         median("6 bytes per event", "PostgreSQL (herault", "bytes/event")),
    ]
    lines = []
    for text, op, bound, mine, theirs in checks:
        if mine and theirs:
            ratio = mine / theirs
            met = ratio >= bound if op == ">=" else ratio <= bound
            lines.append(f"{text}: {ratio:.2f}× (target {op} {bound}×: {'met' if met else 'missed'})")
    if lines:
        print()
        for line in lines:
            print(line)


if __name__ == "__main__":
    main(sys.argv[1])
