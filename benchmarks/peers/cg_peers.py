#!/usr/bin/env python3
"""SPD solves A x = b with the Python tools a user would pick, timed the way pde-bench times ours.

Tools (--tools, comma separated):

  cg         scipy.sparse.linalg.cg without preconditioner
  cg_jacobi  scipy cg, preconditioner x -> x / diag(A)
  cg_ic0     scipy cg, zero-fill incomplete Cholesky L L^T (L with the pattern of tril(A)).
             scipy has no IC(0): the factor is computed here by a row-by-row Python loop,
             so its setup time is NOT a fair comparison; the two triangular solves per
             iteration run in compiled code (SuperLU's solve on the factor, natural order).
  amg_sa     scipy cg, preconditioner one V-cycle of pyamg's smoothed aggregation (defaults)
  amg_rs     scipy cg, preconditioner one V-cycle of pyamg's Ruge-Stueben AMG (defaults)
  cholmod    scikit-sparse's CHOLMOD: setup = analyze + factorize, solve = the two
             triangular solves

The problem is built by poisson_matrix.py (--kind, --n, --rhs) or read from a Matrix Market
file (--mtx A.mtx, with A_b.mtx and A_uexact.mtx beside it when present, as pde-bench
writes them). The CG variants start from x0 = 0 and stop when ||b - A x||_2 <= rtol ||b||_2
(scipy's recurrence residual, atol = 0).

Each tool runs in its own Python process, under --time-limit seconds, so one slow or
crashing tool costs only its own row. Within it, setup and solve are timed --repeat times
(no further runs once one run took more than --slow seconds) and the medians reported.

Output: one JSON object per tool and line on stdout. Keys: tool, case, n, rows, nnz, rtol,
setup_seconds, solve_seconds, seconds (median of setup + solve), runs, rel_residual
(||b - A x|| / ||b||, recomputed), rel_l2 (||x - u|| / ||u|| when u is known), threads,
library versions; for the CG variants also iterations, sec_per_iter and converged; a note
where the row needs one. A tool that fails gives {"tool", "case", "error"}, one stopped by
the time limit {"tool", "case", "skipped"}.

  python3 cg_peers.py --kind poisson2d --n 256
  python3 cg_peers.py --kind poisson3d --n 64 --tools cg,amg_sa,cholmod --threads 1
  python3 cg_peers.py --mtx work/darcy2d_n512.mtx --rtol 1e-10
"""
import argparse
import json
import os
import subprocess
import sys
import time

TOOLS = ("cg", "cg_jacobi", "cg_ic0", "amg_sa", "amg_rs", "cholmod")
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", default="poisson2d", choices=("poisson2d", "poisson3d", "aniso2d"),
                   help="problem built by poisson_matrix.py (default: %(default)s)")
    p.add_argument("--n", type=int, default=256, help="interior nodes per axis (default: %(default)s)")
    p.add_argument("--rhs", default="sinexp", choices=("sinexp", "ones"), help="right-hand side (default: %(default)s)")
    p.add_argument("--mtx", metavar="PATH", help="read A (and PATH's _b / _uexact companions) instead of building it")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools (default: all: %(default)s)")
    p.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance on ||b - Ax|| (default: %(default)s)")
    p.add_argument("--maxiter", type=int, default=100_000, help="CG iteration limit (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per tool, median reported (default: %(default)s)")
    p.add_argument("--slow", type=float, default=30.0,
                   help="no further runs once a run's setup + solve exceeds this many seconds (default: %(default)s)")
    p.add_argument("--time-limit", type=float, default=600.0,
                   help="seconds one tool's process may take before it is stopped (default: %(default)s)")
    p.add_argument("--threads", type=int, help="set OMP/OPENBLAS/MKL thread counts of the tools' processes")
    p.add_argument("--worker", metavar="TOOL", help=argparse.SUPPRESS)  # internal: run one tool in this process
    args = p.parse_args(argv)
    unknown = [t for t in args.tools.split(",") if t not in TOOLS]
    if unknown:
        p.error(f"unknown tool(s) {', '.join(unknown)}: expected some of {', '.join(TOOLS)}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


# ---------------------------------------------------------------------------------------
# The worker: one tool, in its own process.

def incomplete_cholesky0(a):
    """Lower-triangular L with the sparsity of tril(A) and (L L^T)_ij = a_ij on that pattern.

    Row i of L is computed from the rows above it (up-looking IC(0)):
      L_ik = (a_ik - sum_{j<k} L_ij L_kj) / L_kk   for k < i in the pattern of row i,
      L_ii = sqrt(a_ii - sum_{k<i} L_ik^2),
    the sums running over the columns that rows i and k share. Raises ArithmeticError when
    a pivot is not positive (A not SPD enough for IC(0)).
    """
    import numpy as np
    import scipy.sparse as sp

    low = sp.tril(a, format="csr")
    low.sum_duplicates()
    low.sort_indices()
    start = low.indptr.tolist()
    cols = low.indices.tolist()
    vals = low.data.astype(np.float64).tolist()
    for i in range(a.shape[0]):
        first, last = start[i], start[i + 1] - 1  # the diagonal is the last entry of the row
        if last < first or cols[last] != i:
            raise ArithmeticError(f"IC(0): row {i} has no diagonal entry")
        done = {}  # column -> L_ij of row i computed so far
        for p in range(first, last):
            k = cols[p]
            s = vals[p]
            for q in range(start[k], start[k + 1] - 1):
                lij = done.get(cols[q])
                if lij is not None:
                    s -= lij * vals[q]
            done[k] = vals[p] = s / vals[start[k + 1] - 1]
        pivot = vals[last] - sum(v * v for v in done.values())
        if not pivot > 0:
            raise ArithmeticError(f"IC(0): pivot {pivot:.3e} at row {i} is not positive")
        vals[last] = pivot ** 0.5
    return sp.csr_matrix((np.array(vals), low.indices, low.indptr), shape=a.shape)


def ic0_preconditioner(a):
    """M^{-1} r = L^{-T} L^{-1} r as a LinearOperator, L the IC(0) factor.

    SuperLU factorizing the triangular L in natural order without pivoting returns L
    itself (unit lower part times the diagonal, no fill), so its compiled solve performs
    the forward substitution and, transposed, the backward one.
    """
    import numpy as np
    import scipy.sparse.linalg as sla

    factor = incomplete_cholesky0(a)
    n = a.shape[0]
    lu = sla.splu(factor.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    identity = np.arange(n)
    if not (np.array_equal(lu.perm_r, identity) and np.array_equal(lu.perm_c, identity)
            and lu.L.nnz + lu.U.nnz == factor.nnz + n):
        raise RuntimeError("SuperLU reordered or filled the IC(0) factor")
    return sla.LinearOperator((n, n), matvec=lambda r: lu.solve(lu.solve(r), trans="T"), dtype=np.float64)


def set_up(tool, a):
    """Builds the tool's solver for A: ('cg', preconditioner or None, details) or
    ('direct', solve function, details)."""
    import numpy as np
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    n = a.shape[0]
    if tool == "cg":
        return "cg", None, {}
    if tool == "cg_jacobi":
        inverse_diagonal = 1.0 / a.diagonal()
        return "cg", sla.LinearOperator((n, n), matvec=lambda r: inverse_diagonal * r.ravel(), dtype=np.float64), {}
    if tool == "cg_ic0":
        return "cg", ic0_preconditioner(a), {
            "note": "IC(0) factor by a Python loop (setup not comparable); scipy has no IC(0)"}
    if tool in ("amg_sa", "amg_rs"):
        import pyamg
        build = pyamg.smoothed_aggregation_solver if tool == "amg_sa" else pyamg.ruge_stuben_solver
        hierarchy = build(a)
        return "cg", hierarchy.aspreconditioner(cycle="V"), {
            "pyamg": pyamg.__version__, "levels": len(hierarchy.levels),
            "operator_complexity": round(float(hierarchy.operator_complexity()), 3),
            "note": f"pyamg {'smoothed aggregation' if tool == 'amg_sa' else 'Ruge-Stueben'}, V-cycle, defaults"}
    if tool == "cholmod":
        import sksparse
        from sksparse.cholmod import cholesky
        factor = cholesky(sp.csc_matrix(a))
        return "direct", factor, {"nnz_L": int(factor.L().nnz),
                                  "scikit_sparse": getattr(sksparse, "__version__", None) or _version("scikit-sparse")}
    raise ValueError(f"unknown tool {tool!r}")


def _version(distribution):
    try:
        from importlib.metadata import version
        return version(distribution)
    except Exception:
        return None


def run_once(tool, a, b, rtol, maxiter):
    """One setup + solve from x0 = 0: (setup s, solve s, x, iterations or None, details)."""
    import scipy.sparse.linalg as sla

    t0 = time.perf_counter()
    kind, solver, details = set_up(tool, a)
    t1 = time.perf_counter()
    iterations = None
    if kind == "cg":
        count = [0]

        def step(_):
            count[0] += 1

        x, info = sla.cg(a, b, rtol=rtol, atol=0.0, maxiter=maxiter, M=solver, callback=step)
        iterations = count[0]
        details["converged"] = info == 0
        if info != 0:
            details["note"] = (details.get("note", "") + f"; not converged (info {info})").lstrip("; ")
    else:
        x = solver(b)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, x, iterations, details


def worker(args):
    """Runs args.worker on the problem and prints its JSON line."""
    import numpy as np
    import scipy

    sys.path.insert(0, HERE)
    import poisson_matrix

    np.random.seed(0)  # pyamg draws random vectors (spectral radius estimates): same hierarchy every run
    name, n, a, b, u = poisson_matrix.load(args.kind, args.n, args.rhs, args.mtx)
    row = {"tool": args.worker, "case": name, "n": n, "rows": int(a.shape[0]), "nnz": int(a.nnz),
           "rtol": args.rtol, "threads": args.threads or os.environ.get("OPENBLAS_NUM_THREADS") or "default",
           "scipy": scipy.__version__, "numpy": np.__version__}
    try:
        runs = []
        while len(runs) < args.repeat:
            runs.append(run_once(args.worker, a, b, args.rtol, args.maxiter))
            if runs[-1][0] + runs[-1][1] > args.slow:
                break
    except Exception as e:  # the row reports it; the other tools go on
        print(json.dumps(row | {"error": f"{type(e).__name__}: {e}"}), flush=True)
        return
    setup = float(np.median([r[0] for r in runs]))
    solve = float(np.median([r[1] for r in runs]))
    _, _, x, iterations, details = runs[-1]
    row.update(setup_seconds=setup, solve_seconds=solve, seconds=float(np.median([r[0] + r[1] for r in runs])),
               runs=len(runs), rel_residual=float(np.linalg.norm(b - a @ x) / np.linalg.norm(b)),
               rel_l2=None if u is None else float(np.linalg.norm(x - u) / np.linalg.norm(u)))
    if iterations is not None:
        row.update(iterations=iterations, sec_per_iter=solve / iterations if iterations else None)
    print(json.dumps(row | details), flush=True)


# ---------------------------------------------------------------------------------------
# The driver: one worker process per tool.

def case_name(args):
    if args.mtx:
        return os.path.splitext(os.path.basename(args.mtx))[0]
    return f"{args.kind}_n{args.n}_{args.rhs}"


def drive(args, argv):
    env = dict(os.environ)
    if args.threads:  # read by the BLAS / OpenMP runtimes when the worker starts
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    for tool in args.tools.split(","):
        command = [sys.executable, os.path.abspath(__file__), *argv, "--worker", tool]
        base = {"tool": tool, "case": case_name(args)}
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, timeout=args.time_limit)
        except subprocess.TimeoutExpired:
            print(json.dumps(base | {"skipped": f"time limit {args.time_limit:g} s exceeded"}), flush=True)
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if lines:
            print(lines[-1], flush=True)
        else:
            print(json.dumps(base | {"error": f"worker exited with status {done.returncode} and no result"}), flush=True)


def main():
    argv = sys.argv[1:]
    args = parse_args(argv)
    if args.worker:
        worker(args)
    else:
        drive(args, argv)


if __name__ == "__main__":
    main()
