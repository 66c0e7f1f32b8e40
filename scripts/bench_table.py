#!/usr/bin/env python3
"""Markdown tables from pde-bench JSON lines (the last measurement per case and tool).

    python3 scripts/bench_table.py bench-results/krylov.jsonl [--suite krylov]
"""
import argparse
import json

p = argparse.ArgumentParser()
p.add_argument("results")
p.add_argument("--suite", default="krylov")
args = p.parse_args()

rows = {}
order = []
for line in open(args.results):
    o = json.loads(line)
    if o.get("suite") != args.suite:
        continue
    key = (o.get("case"), o.get("tool"))
    if key not in rows:
        order.append(key)
    rows[key] = o


def fmt(v, digits=3):
    if v is None:
        return ""
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) < 1e-3 or abs(v) >= 1e4:
            return f"{v:.2e}"
        return f"{v:.{digits}g}"
    return str(v)


cases = []
for c, _ in order:
    if c not in cases:
        cases.append(c)
for case in cases:
    print(f"\n### {case}\n")
    print("| tool | iterations | setup s | solve s | total s | s / iteration | rel. residual |")
    print("|---|---|---|---|---|---|---|")
    for (c, tool) in order:
        if c != case:
            continue
        o = rows[(c, tool)]
        if "error" in o or "skipped" in o:
            print(f"| {tool} | | | | | | {o.get('error') or o.get('skipped')} |")
            continue
        s, t = o.get("setup_seconds"), o.get("solve_seconds")
        total = (s or 0) + (t or 0)
        print(f"| {tool} | {fmt(o.get('iterations'))} | {fmt(s)} | {fmt(t)} | {fmt(total)} | {fmt(o.get('sec_per_iter'))} | {fmt(o.get('rel_residual'))} |")
