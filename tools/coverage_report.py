#!/usr/bin/env python3
"""Sums gcov's JSON counts for broker/ and prints the coverage figures.

usage: coverage_report.py GCOV_JSONL OUT_TXT

GCOV_JSONL holds one `gcov -t --json-format --branch-probabilities` document
a line, one per compiled broker file (tools/coverage.sh writes it). A header's
inline functions appear once for every file that includes and uses them; they
are merged by (file, line): a line is reached if any copy of it ran, and a
branch (numbered in order within its line) is taken if any copy took it.

Prints, for broker/ as a whole and each folder, line, branch and function
coverage, then every function never reached (file:line name, in file and line
order); OUT_TXT gets the same table and the details of each file: its
figures, its unreached functions, the lines never run (as ranges of
consecutive executable lines) and the lines with a branch never taken.
The output is sorted throughout, so it depends only on the counts.
"""
import fnmatch
import json
import os
import sys
from collections import defaultdict


def pct(hit, total):
    """'91.2% (1234/1353)', rounded down, so 90.0% means at least 90%."""
    if total == 0:
        return "   -   (0/0)"
    tenths = hit * 1000 // total
    return f"{tenths // 10:3d}.{tenths % 10}% ({hit}/{total})"


def load(path):
    lines = defaultdict(int)  # (file, line) -> count
    branches = defaultdict(int)  # (file, line, index within the line) -> count
    functions = defaultdict(int)  # (file, start line, name) -> calls
    with open(path) as f:
        for text in f:
            if not text.strip():
                continue
            doc = json.loads(text)
            for entry in doc["files"]:
                name = os.path.normpath(entry["file"])
                if not name.startswith("broker/"):
                    continue  # inline code from system headers
                seen = defaultdict(int)  # a line listed twice keeps numbering its branches
                for ln in entry["lines"]:
                    key = (name, ln["line_number"])
                    lines[key] += ln["count"]
                    for br in ln["branches"]:
                        branches[key + (seen[key],)] += br["count"]
                        seen[key] += 1
                for fn in entry["functions"]:
                    functions[(name, fn["start_line"], fn["name"])] += fn["execution_count"]
    return lines, branches, functions


class Tally:
    def __init__(self):
        self.lines = [0, 0]
        self.branches = [0, 0]
        self.functions = [0, 0]

    def row(self, label, width):
        return (f"{label:<{width}}  lines {pct(*self.lines):<22}"
                f"  branches {pct(*self.branches):<22}  functions {pct(*self.functions)}")


def generated(name):
    """protogen.py's output, as the Makefile's format target names it."""
    return fnmatch.fnmatch(os.path.basename(name), "*_gen.[ch]")


def folder_of(name):
    d = os.path.dirname(name)
    return "broker/ (top level)" if d == "broker" else d


def main():
    jsonl, out_path = sys.argv[1], sys.argv[2]
    lines, branches, functions = load(jsonl)

    per_file = defaultdict(Tally)
    for (name, _), count in lines.items():
        per_file[name].lines[0] += count > 0
        per_file[name].lines[1] += 1
    for (name, _, _), count in branches.items():
        per_file[name].branches[0] += count > 0
        per_file[name].branches[1] += 1
    for (name, _, _), calls in functions.items():
        per_file[name].functions[0] += calls > 0
        per_file[name].functions[1] += 1

    # Rows: broker/ and each folder; where generated codecs are part of the
    # figure, the same without them too ("hand-written").
    hand = " (hand-written)"
    rows = defaultdict(Tally)
    for name, t in per_file.items():
        folder = folder_of(name)
        aggs = [rows["broker/ (all)"], rows[folder]]
        if not generated(name):
            aggs += [rows["broker/" + hand], rows[folder + hand]]
        for agg in aggs:
            for field in ("lines", "branches", "functions"):
                mine, total = getattr(t, field), getattr(agg, field)
                total[0] += mine[0]
                total[1] += mine[1]

    labels = ["broker/ (all)", "broker/" + hand]
    for folder in sorted({folder_of(n) for n in per_file}):
        labels.append(folder)
        if any(generated(n) and folder_of(n) == folder for n in per_file):
            labels.append(folder + hand)
    width = max(len(label) for label in labels)
    table = [rows[label].row(label, width) for label in labels]

    never = sorted((name, line, fn) for (name, line, fn), calls in functions.items()
                   if calls == 0)
    summary = table + [f"never reached: {len(never)} of {len(functions)} functions in broker/"]
    # The generated codecs cover every message of every API, used or not: a
    # count each here, the names in the details file.
    summary += [f"  {name}:{line}  {fn}" for name, line, fn in never if not generated(name)]
    for name in sorted({n for n, _, _ in never if generated(n)}):
        count = sum(1 for n, _, _ in never if n == name)
        summary.append(f"  {name}: {count} generated functions (listed in the details file)")
    print("\n".join(summary))

    details = ["Coverage of broker/ by the simulator (make coverage).", ""] + table + [""]
    fwidth = max(len(n) for n in per_file)
    for name in sorted(per_file):
        details.append(per_file[name].row(name, fwidth))
        unreached = [f"{fn} ({line})" for n, line, fn in never if n == name]
        if unreached:
            details.append("  functions never reached: " + ", ".join(unreached))
        executable = sorted(ln for (n, ln) in lines if n == name)
        # Ranges over executable lines: a gap of blank lines or comments does not split one.
        not_run, run_start, prev = [], None, None
        for ln in executable + [None]:
            unrun = ln is not None and lines[(name, ln)] == 0
            if unrun and run_start is None:
                run_start = ln
            if not unrun and run_start is not None:
                not_run.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
                run_start = None
            prev = ln
        if not_run:
            details.append("  lines never run: " + ", ".join(not_run))
        partial = defaultdict(lambda: [0, 0])
        for (n, ln, _), count in branches.items():
            if n == name:
                partial[ln][0] += count > 0
                partial[ln][1] += 1
        untaken = [f"{ln} ({hit}/{total})" for ln, (hit, total) in sorted(partial.items())
                   if hit < total]
        if untaken:
            details.append("  lines with a branch never taken (taken/all): " + ", ".join(untaken))
    with open(out_path, "w") as f:
        f.write("\n".join(details) + "\n")
    print(f"coverage: per-file details in {out_path}")


if __name__ == "__main__":
    main()
