#!/usr/bin/env python3
"""Memory bandwidth of numpy's element-wise kernels, STREAM style (single thread).

Kernels on float64 arrays of --n elements (default 2e7: 160 MB per array, far beyond any
cache), each timed --reps times after one untimed run that touches the pages; the best
time is reported, as STREAM does:

  copy   a = b            np.copyto(a, b)                          16 bytes / element
  scale  a = s * b        np.multiply(b, s, out=a)                 16 bytes / element
  add    a = b + c        np.add(b, c, out=a)                      24 bytes / element
  triad  a = b + s * c    np.multiply(c, s, out=a); np.add(a, b, out=a)
                                                                   24 bytes / element

The bytes are STREAM's count (each array read or written once). numpy has no fused
triad: it makes two passes, moving about 40 bytes per element, so its triad figure is
what a numpy user gets, not the memory system's limit. numpy's element-wise kernels run on
one thread.

Output: one JSON object per kernel and line on stdout: case (stream_<kernel>), tool
(numpy), n, seconds (best), gb_per_s, bytes_per_element, reps, threads (1), numpy.

  python3 stream_numpy.py
  python3 stream_numpy.py --n 50000000 --reps 10 --kernels triad
"""
import argparse
import json
import os
import time

import numpy as np

SCALAR = 3.0
KERNELS = ("copy", "scale", "add", "triad")
BYTES_PER_ELEMENT = {"copy": 16, "scale": 16, "add": 24, "triad": 24}
#: What every element of a holds after the kernel, with b = 1 and c = 2.
EXPECTED = {"copy": 1.0, "scale": SCALAR, "add": 3.0, "triad": 1.0 + SCALAR * 2.0}


def kernel(name, a, b, c):
    """The function computing kernel `name` into a."""
    if name == "copy":
        return lambda: np.copyto(a, b)
    if name == "scale":
        return lambda: np.multiply(b, SCALAR, out=a)
    if name == "add":
        return lambda: np.add(b, c, out=a)
    if name == "triad":
        def triad():
            np.multiply(c, SCALAR, out=a)
            np.add(a, b, out=a)
        return triad
    raise ValueError(f"unknown kernel {name!r}")


def best_time(fn, reps):
    """Fastest of `reps` timed calls, after one untimed call."""
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000_000, help="elements per array (default: %(default)s)")
    p.add_argument("--reps", type=int, default=5, help="timed runs per kernel, best reported (default: %(default)s)")
    p.add_argument("--kernels", default=",".join(KERNELS), help="comma-separated kernels (default: %(default)s)")
    args = p.parse_args()
    names = args.kernels.split(",")
    unknown = [k for k in names if k not in KERNELS]
    if unknown:
        p.error(f"unknown kernel(s) {', '.join(unknown)}: expected some of {', '.join(KERNELS)}")
    if args.n < 1 or args.reps < 1:
        p.error("--n and --reps must be at least 1")

    a = np.zeros(args.n)
    b = np.full(args.n, 1.0)
    c = np.full(args.n, 2.0)
    for name in names:
        seconds = best_time(kernel(name, a, b, c), args.reps)
        if not (a[0] == a[-1] == EXPECTED[name]):  # a kernel that did not run would time nothing
            raise SystemExit(f"stream_numpy: kernel {name} computed {a[0]}, expected {EXPECTED[name]}")
        nbytes = BYTES_PER_ELEMENT[name]
        print(json.dumps({"case": f"stream_{name}", "tool": "numpy", "n": args.n, "seconds": seconds,
                          "gb_per_s": nbytes * args.n / seconds / 1e9, "bytes_per_element": nbytes,
                          "reps": args.reps, "threads": 1, "cpus": os.cpu_count(), "numpy": np.__version__}),
              flush=True)


if __name__ == "__main__":
    main()
