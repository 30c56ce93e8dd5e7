"""The library's calls from Python, held against `cargo bench --bench library_calls` (the same
calls from Rust): load, derive every gradient (no steps), eval every gradient, check one claim,
on the seed network and on 784-30-10. Prints the median of each, in milliseconds.

Run after `maturin develop --release --locked`: python -P python/bench.py (`-P`: the built
package, not the source folder beside the script). Interleave runs with the Rust side on the
same machine state and compare medians.
"""

import pathlib
import statistics
import time

import chainrule

ROOT = pathlib.Path(__file__).resolve().parents[1]


def median_ms(call, runs):
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def calls(label, source, claim, runs):
    net = chainrule.load(source)
    # The same point as the Rust benchmark: every leaf (inputs, targets, parameters, in program
    # order), the i-th given (i mod 17 − 8)/40.
    at = {name: ((i % 17) - 8) / 40 for i, name in enumerate(net.leaves)}
    print(f"{label}:")
    print(f"  load                     {median_ms(lambda: chainrule.load(source), runs):9.2f} ms")
    print(f"  derive --all --no-steps  {median_ms(lambda: net.derive(steps=False), runs):9.2f} ms")
    print(f"  eval --all               {median_ms(lambda: net.eval(at=at), runs):9.2f} ms")
    print(f"  check                    {median_ms(lambda: net.check(claim, at=at), runs):9.2f} ms")


calls("seed", chainrule.BUILTIN_EXAMPLE, "dC/dw3 = -2(y - a3)*(a3 - (1 - a3))*a2", 50)
calls(
    "784-30-10",
    (ROOT / "examples" / "mnist_784_30_10.bp").read_text(),
    "dC/dw3_1_1 = (a3_1 - y1)*a3_1*(1 - a3_1)*a2_1",
    10,
)
