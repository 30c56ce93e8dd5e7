"""Python against Rust, paired: the same library calls (load, derive --all --no-steps, eval
--all, check one claim; the seed network and 784-30-10) timed from Rust (the quick mode of
`benches/library_calls.rs`) and from Python (`python/bench.py`), one side after the other in
fresh processes, so that each round's two sides share the machine's state of the moment.

Run from the repository after `maturin develop --release --locked`, with the interpreter that
has the package installed:

    python -P python/compare_bench.py [--pairs 5] [--instructions]

For each call it prints the median over the rounds of each side's median CPU time, the median
of the rounds' ratios Python/Rust and their smallest and largest (the spread), and the same
for wall time. A machine whose speed drifts between rounds moves both sides of a round
together, so the ratio holds where the times alone swing. The side that goes first alternates
from round to round, so a steady drift does not favour either.

`--instructions` also counts, under valgrind's callgrind, the instructions one call of derive,
eval and check on 784-30-10 takes on each side (a run timing two calls less a run timing one:
load and start-up cancel), a count that does not depend on the machine's load.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
LABELS = {
    "load": "load",
    "derive": "derive --all --no-steps",
    "eval": "eval --all",
    "check": "check (one claim)",
}


def rust_bench():
    """The Rust side's executable, built (release profile) if it is not yet."""
    built = subprocess.run(
        ["cargo", "bench", "--locked", "--bench", "library_calls", "--no-run",
         "--message-format=json"],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    for line in built.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "library_calls":
            if message.get("executable"):
                return message["executable"]
    sys.exit("cargo built no library_calls benchmark")


def sides(rust):
    return {
        "rust": [rust, "--quick"],
        "python": [sys.executable, "-P", str(ROOT / "python" / "bench.py")],
    }


def timed(command, extra=()):
    """The lines a side prints: {(network, call): (cpu_ms, wall_ms)}."""
    output = subprocess.run([*command, *extra], cwd=ROOT, check=True, stdout=subprocess.PIPE,
                            text=True).stdout
    times = {}
    for line in output.splitlines():
        if line and not line.startswith("#"):
            network, call, _runs, cpu, wall = line.split("\t")
            times[(network, call)] = (float(cpu), float(wall))
    return times


def spread(ratios):
    return (f"{statistics.median(ratios):6.3f} "
            f"[{min(ratios):.3f}–{max(ratios):.3f}]")


def pairs(commands, count):
    rounds = []
    for round_number in range(count):
        order = ["rust", "python"] if round_number % 2 == 0 else ["python", "rust"]
        result = {side: timed(commands[side]) for side in order}
        rounds.append(result)
        print(f"round {round_number + 1}/{count} done ({' then '.join(order)})",
              file=sys.stderr, flush=True)
    print(f"{len(rounds)} rounds; per call: Rust and Python medians over the rounds (ms), "
          "then the median of the rounds' ratios Python/Rust [smallest–largest]")
    print(f"{'network':10} {'call':24} {'Rust CPU':>10} {'Py CPU':>10} {'CPU ratio':>22}"
          f" {'Rust wall':>10} {'Py wall':>10} {'wall ratio':>22}")
    for key in rounds[0]["rust"]:
        rust = [r["rust"][key] for r in rounds]
        python = [r["python"][key] for r in rounds]
        columns = []
        for clock in (0, 1):
            ratios = [p[clock] / r[clock] for r, p in zip(rust, python)]
            columns.append(f"{statistics.median(r[clock] for r in rust):10.3f} "
                           f"{statistics.median(p[clock] for p in python):10.3f} "
                           f"{spread(ratios):>22}")
        print(f"{key[0]:10} {LABELS[key[1]]:24} {columns[0]} {columns[1]}")


def instructions(command, call, runs):
    """The instructions a side's process executes timing `call` on 784-30-10 `runs` times."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command,
                        "--network", "784-30-10", "--call", call, "--runs", str(runs)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(out, encoding="utf-8") as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    sys.exit(f"callgrind wrote no total for {command[0]}")


def counts(commands):
    print("784-30-10, instructions of one call (callgrind: two timed calls less one)")
    print(f"{'call':24} {'Rust':>16} {'Python':>16} {'ratio':>7}")
    for call in ("derive", "eval", "check"):
        per_side = {side: instructions(command, call, 2) - instructions(command, call, 1)
                    for side, command in commands.items()}
        print(f"{LABELS[call]:24} {per_side['rust']:16,} {per_side['python']:16,} "
              f"{per_side['python'] / per_side['rust']:7.4f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5,
                        help="rounds of Rust and Python (0: only the instruction counts)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count one call's instructions on each side under callgrind")
    parser.add_argument("--rust-bench", help="the Rust side's executable (else cargo builds it)")
    args = parser.parse_args()
    if args.pairs < 0 or (args.pairs == 0 and not args.instructions):
        parser.error("--pairs takes a positive count, or 0 with --instructions")
    commands = sides(args.rust_bench or rust_bench())
    if args.pairs:
        pairs(commands, args.pairs)
    if args.instructions:
        counts(commands)


if __name__ == "__main__":
    main()
