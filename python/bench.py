"""The library's calls from Python, held against `cargo bench --bench library_calls` (the same
calls from Rust): load, derive every gradient (no steps), eval every gradient, check one claim,
on the seed network and on 784-30-10. Prints the median CPU time (the Rust side's clock) and
wall time of each, in milliseconds.

Run after `maturin develop --release --locked`: python -P python/bench.py (`-P`: the built
package, not the source folder beside the script). Interleave runs with the Rust side on the
same machine state and compare medians.

Both sides do the same work (counted in instructions, the two agree within 1% per call on
784-30-10; on the seed network the package's own handling of a call adds 2–6%) in the same
state of the C allocator's heap: the point is turned into named values inside each call, and
nothing long-lived is allocated between loading the network and the calls. The time of a call
on 784-30-10 depends on that heap (the holes a load leaves behind make later allocation
slower), so keep it so when changing either side.
"""

import pathlib
import statistics
import time

import chainrule

ROOT = pathlib.Path(__file__).resolve().parents[1]


def medians(call, runs):
    """The median CPU time of the process (every thread's, as the Rust side measures it) and
    the median wall time of `call`, in milliseconds."""
    call()
    cpu, wall = [], []
    for _ in range(runs):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start_wall) * 1000)
    return f"{statistics.median(cpu):10.3f} ms CPU {statistics.median(wall):10.3f} ms wall"


def calls(label, source, claim, runs):
    net = chainrule.load(source)
    # The same point as the Rust benchmark: every leaf (inputs, targets, parameters, in program
    # order), the i-th given (i mod 17 − 8)/40.
    at = {name: ((i % 17) - 8) / 40 for i, name in enumerate(net.leaves)}
    print(f"{label}:")
    print(f"  load                     {medians(lambda: chainrule.load(source), runs)}")
    print(f"  derive --all --no-steps  {medians(lambda: net.derive(steps=False), runs)}")
    print(f"  eval --all               {medians(lambda: net.eval(at=at), runs)}")
    print(f"  check                    {medians(lambda: net.check(claim, at=at), runs)}")


calls("seed", chainrule.BUILTIN_EXAMPLE, "dC/dw3 = -2(y - a3)*(a3 - (1 - a3))*a2", 50)
calls(
    "784-30-10",
    (ROOT / "examples" / "mnist_784_30_10.bp").read_text(),
    "dC/dw3_1_1 = (a3_1 - y1)*a3_1*(1 - a3_1)*a2_1",
    10,
)
