"""The library's calls from Python, held against `benches/library_calls.rs` (the same calls
from Rust): load, derive every gradient (no steps), eval every gradient, check one claim, on
the seed network and on 784-30-10. Each call is made once untimed, then timed a fixed number
of times; one tab-separated line per call gives the median CPU time of the process (every
thread's, the Rust side's clock) and the median wall time, in milliseconds.

Run after `maturin develop --release --locked`: python -P python/bench.py (`-P`: the built
package, not the source folder beside the script). `python/compare_bench.py` runs it and the
Rust side's quick mode in turn and compares them round by round; `--network NAME`, `--call
NAME` and `--runs N` narrow a run, as on the Rust side.

Both sides do the same work (counted in instructions, the two agree within 1% per call on
784-30-10; on the seed network the package's own handling of a call adds 2–6%) in the same
state of the C allocator's heap: the point is turned into named values inside each call, and
nothing long-lived is allocated between loading the network and the calls. The time of a call
on 784-30-10 depends on that heap (the holes a load leaves behind make later allocation
slower), so keep it so when changing either side.
"""

import argparse
import pathlib
import statistics
import time

import chainrule

ROOT = pathlib.Path(__file__).resolve().parents[1]

# The networks, their claims and how many times each call is timed (the Rust side has the
# same table).
NETWORKS = [
    ("seed", chainrule.BUILTIN_EXAMPLE, "dC/dw3 = -2(y - a3)*(a3 - (1 - a3))*a2", 50),
    (
        "784-30-10",
        (ROOT / "examples" / "mnist_784_30_10.bp").read_text(encoding="utf-8"),
        "dC/dw3_1_1 = (a3_1 - y1)*a3_1*(1 - a3_1)*a2_1",
        10,
    ),
]

CALLS = ["load", "derive", "eval", "check"]


def medians(call, runs):
    """The median CPU time of the process and the median wall time of `runs` calls after one
    untimed call, in milliseconds (each result dropped inside its timing, as on the Rust
    side)."""
    call()
    cpu, wall = [], []
    for _ in range(runs):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start_wall) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def run(label, source, claim, runs, only_call):
    net = chainrule.load(source)
    # The same point as the Rust side: every leaf (inputs, targets, parameters, in program
    # order), the i-th given (i mod 17 − 8)/40.
    at = {name: ((i % 17) - 8) / 40 for i, name in enumerate(net.leaves)}
    calls = {
        "load": lambda: chainrule.load(source),
        "derive": lambda: net.derive(steps=False),
        "eval": lambda: net.eval(at=at),
        "check": lambda: net.check(claim, at=at),
    }
    for name in CALLS:
        if only_call in (None, name):
            cpu, wall = medians(calls[name], runs)
            print(f"{label}\t{name}\t{runs}\t{cpu:.3f}\t{wall:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", choices=[n[0] for n in NETWORKS])
    parser.add_argument("--call", choices=CALLS)
    parser.add_argument("--runs", type=int, help="each call's timed count (else the network's)")
    args = parser.parse_args()
    if args.runs is not None and args.runs < 1:
        parser.error("--runs takes a positive count")
    print("# network\tcall\truns\tcpu_ms\twall_ms\tside=python")
    for label, source, claim, runs in NETWORKS:
        if args.network in (None, label):
            run(label, source, claim, args.runs or runs, args.call)


if __name__ == "__main__":
    main()
