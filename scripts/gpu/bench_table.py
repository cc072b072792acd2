#!/usr/bin/env python3
"""Prints the GPU check's benchmark table from `microscope bench --json` outputs.

Usage: bench_table.py FP32.json [TF32.json [BF16.json ...]]

For each op and batch: ms per render step and units per hour of a full channel sweep at
512 steps per unit (batch units per render, one render = 512 steps), for each file, labelled
by its name (bench-tf32.json -> tf32), with each later file's speed-up over the first. Reads the bench's `render_steps` rows
(`op`, `batch`, `ms_per_step`); a `units_per_hour` field in a row, where the bench gives one,
is printed as the bench's own figure.
"""
import json
import sys

SWEEP_STEPS = 512


def rows(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        report = json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"bench_table: {path} is not the bench's JSON ({e}); it starts: {text[:200]!r}")
    found = {}

    def walk(node):
        if isinstance(node, dict):
            if {"op", "batch", "ms_per_step"} <= node.keys():
                found[(node["op"], node["batch"])] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(report)
    if not found:
        sys.exit(f"bench_table: {path} holds no rows with op, batch and ms_per_step")
    return report, found


def units_per_hour(row):
    return row["batch"] * 3600 * 1000 / (row["ms_per_step"] * SWEEP_STEPS)


def label(path):
    stem = path.rsplit("/", 1)[-1].removesuffix(".json")
    return stem.removeprefix("bench-")


def main(paths):
    if not paths:
        sys.exit(__doc__)
    report, first = rows(paths[0])
    others = [(label(p), rows(p)[1]) for p in paths[1:]]
    name = label(paths[0])
    print(f"model {report.get('model', '?')}, device {report.get('device', '?')}, "
          f"{report.get('steps', '?')} timed steps per figure; units/hour = batch x 3600 s / (ms/step x {SWEEP_STEPS} steps)")
    header = f"{'op':<12} {'batch':>5} {name + ' ms/step':>13} {name + ' units/h':>13}"
    for other, _ in others:
        header += f" {other + ' ms/step':>13} {other + ' units/h':>13} {other + ' speed-up':>14}"
    print(header)
    for key, row in first.items():
        line = f"{key[0]:<12} {key[1]:>5} {row['ms_per_step']:>13.2f} {units_per_hour(row):>13.0f}"
        for _, found in others:
            if key in found:
                t = found[key]
                line += f" {t['ms_per_step']:>13.2f} {units_per_hour(t):>13.0f} {row['ms_per_step'] / t['ms_per_step']:>13.2f}x"
            else:
                line += f" {'-':>13} {'-':>13} {'-':>14}"
        if "units_per_hour" in row:
            line += f"  (bench: {row['units_per_hour']:.0f} units/h)"
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
