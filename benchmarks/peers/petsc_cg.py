#!/usr/bin/python3
"""PETSc's conjugate gradients (KSP cg) on the problems of poisson_matrix.py, one MPI rank.

Run with Debian's Python, which has petsc4py (apt-get install python3-petsc4py
libpetsc-real-dev python3-scipy); pde-bench starts it as /usr/bin/python3.

The matrix is built by poisson_matrix.py (--kind, --n, --rhs) or read from a Matrix Market
file (--mtx A.mtx, with A_b.mtx and A_uexact.mtx beside it when present) and handed to
PETSc as a SeqAIJ matrix flagged SPD. For every preconditioner of --pcs

  none    no preconditioner
  jacobi  diagonal scaling
  icc     ICC(0), PETSc's incomplete Cholesky without fill
  gamg    PETSc's smoothed-aggregation algebraic multigrid (defaults)
  hypre   hypre's BoomerAMG (defaults; skipped when PETSc was built without hypre)

a fresh KSP is set up (KSPSetUp, which builds the preconditioner: "setup") and solved
(KSPSolve from x0 = 0: "solve") --repeat times, no further runs once one took more than
--slow seconds; medians are reported. Convergence is tested on the UNPRECONDITIONED
residual, ||b - A x||_2 <= rtol ||b||_2 (atol 0), the rule of scipy's cg and of
SwiftPDE; PETSc's CG default would test the preconditioned norm.

Output: one JSON object per preconditioner and line on stdout, with the keys of
cg_peers.py: tool (petsc_cg_<pc>), pc, case, n, rows, nnz, rtol, iterations,
setup_seconds, solve_seconds, seconds, runs, sec_per_iter, rel_residual (recomputed),
rel_l2, converged_reason, petsc version, note; {"tool", "skipped"} for an unavailable PC,
{"tool", "error"} for a failure. Options after `--` go to PETSc's options database.

  /usr/bin/python3 petsc_cg.py --kind poisson2d --n 1024
  /usr/bin/python3 petsc_cg.py --mtx work/aniso2d_n256.mtx --pcs none,gamg -- -pc_gamg_threshold 0.02
"""
import argparse
import json
import os
import sys
import time

PCS = ("none", "jacobi", "icc", "gamg", "hypre")
NOTES = {"icc": "ICC(0)", "gamg": "GAMG, defaults", "hypre": "hypre BoomerAMG, defaults"}
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    """(options, PETSc options) from the command line; PETSc's follow `--`."""
    argv = sys.argv[1:]
    petsc_options = []
    if "--" in argv:
        cut = argv.index("--")
        argv, petsc_options = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", default="poisson2d", choices=("poisson2d", "poisson3d", "aniso2d"),
                   help="problem built by poisson_matrix.py (default: %(default)s)")
    p.add_argument("--n", type=int, default=256, help="interior nodes per axis (default: %(default)s)")
    p.add_argument("--rhs", default="sinexp", choices=("sinexp", "ones"), help="right-hand side (default: %(default)s)")
    p.add_argument("--mtx", metavar="PATH", help="read A (and PATH's _b / _uexact companions) instead of building it")
    p.add_argument("--pcs", default=",".join(PCS), help="comma-separated preconditioners (default: %(default)s)")
    p.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance on ||b - Ax|| (default: %(default)s)")
    p.add_argument("--maxiter", type=int, default=100_000, help="iteration limit (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=3, help="timed setups + solves per PC, median reported (default: %(default)s)")
    p.add_argument("--slow", type=float, default=30.0,
                   help="no further runs once a run's setup + solve exceeds this many seconds (default: %(default)s)")
    p.add_argument("--threads", type=int, help="set OMP/OPENBLAS thread counts (before PETSc loads)")
    args = p.parse_args(argv)
    unknown = [pc for pc in args.pcs.split(",") if pc not in PCS]
    if unknown:
        p.error(f"unknown preconditioner(s) {', '.join(unknown)}: expected some of {', '.join(PCS)}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args, petsc_options


def main():
    args, petsc_options = parse_args()
    if args.threads:  # must precede loading PETSc and its BLAS
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import petsc4py
    petsc4py.init([sys.argv[0]] + petsc_options)
    from petsc4py import PETSc
    import numpy as np

    sys.path.insert(0, HERE)
    import poisson_matrix

    name, n, a_csr, b_np, u = poisson_matrix.load(args.kind, args.n, args.rhs, args.mtx)
    index = PETSc.IntType
    a = PETSc.Mat().createAIJ(size=a_csr.shape, csr=(a_csr.indptr.astype(index), a_csr.indices.astype(index),
                                                     a_csr.data.astype(PETSc.ScalarType)))
    a.setOption(PETSc.Mat.Option.SPD, True)
    a.assemble()
    b = a.createVecLeft()
    b.setArray(b_np)
    x, r = b.duplicate(), b.duplicate()
    reasons = {getattr(PETSc.KSP.ConvergedReason, k): k for k in dir(PETSc.KSP.ConvergedReason) if not k.startswith("_")}
    base = {"case": name, "n": n, "rows": int(a_csr.shape[0]), "nnz": int(a_csr.nnz), "rtol": args.rtol,
            "petsc": ".".join(map(str, PETSc.Sys.getVersion())), "mpi_ranks": 1,
            "threads": args.threads or os.environ.get("OPENBLAS_NUM_THREADS") or "default", "norm": "unpreconditioned"}

    for pc in args.pcs.split(","):
        row = base | {"tool": f"petsc_cg_{pc}", "pc": pc}
        if pc == "hypre" and not PETSc.Sys.hasExternalPackage("hypre"):
            print(json.dumps(row | {"skipped": "PETSc built without hypre"}), flush=True)
            continue
        setups, solves = [], []
        try:
            while len(setups) < args.repeat:
                ksp = PETSc.KSP().create(comm=PETSc.COMM_SELF)
                ksp.setOperators(a)
                ksp.setType(PETSc.KSP.Type.CG)
                ksp.getPC().setType(pc)
                if pc == "hypre":
                    ksp.getPC().setHYPREType("boomeramg")
                ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
                ksp.setTolerances(rtol=args.rtol, atol=0.0, max_it=args.maxiter)
                ksp.setInitialGuessNonzero(False)
                ksp.setFromOptions()
                x.set(0.0)
                t0 = time.perf_counter()
                ksp.setUp()
                t1 = time.perf_counter()
                ksp.solve(b, x)
                t2 = time.perf_counter()
                setups.append(t1 - t0)
                solves.append(t2 - t1)
                iterations, reason = ksp.getIterationNumber(), int(ksp.getConvergedReason())
                ksp.destroy()
                if t2 - t0 > args.slow:
                    break
        except PETSc.Error as e:
            print(json.dumps(row | {"error": f"PETSc error {e.ierr}: {e}"}), flush=True)
            continue
        a.mult(x, r)
        r.aypx(-1.0, b)  # r = b - A x
        setup, solve = float(np.median(setups)), float(np.median(solves))
        note = NOTES.get(pc, "")
        if reason < 0:
            note = (note + "; " if note else "") + f"diverged: {reasons.get(reason, reason)}"
        row.update(iterations=iterations, setup_seconds=setup, solve_seconds=solve,
                   seconds=float(np.median(np.add(setups, solves))), runs=len(setups),
                   sec_per_iter=solve / iterations if iterations else None,
                   rel_residual=float(r.norm() / b.norm()),
                   rel_l2=None if u is None else float(np.linalg.norm(x.getArray() - u) / np.linalg.norm(u)),
                   converged_reason=reasons.get(reason, reason), note=note)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
