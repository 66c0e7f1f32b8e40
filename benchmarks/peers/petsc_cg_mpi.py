"""PETSc KSP CG under mpirun: the distributed peer of `pde-bench mpi`.

The same matrices as poisson_matrix.py (poisson2d / poisson3d, Dirichlet, h = 1/(n+1),
natural ordering, x fastest) and the same right-hand side b = A u_exact (sinexp), as a
PETSc MPIAIJ matrix whose rows are split in PETSc's default contiguous blocks (for these
orderings, slabs along the slowest axis, as our decomposition). KSP cg (and pipecg), PC none
(or --pcs jacobi, gamg),
rtol 1e-8, x0 = 0, convergence on the unpreconditioned residual norm. Each rank assembles
only its own rows. Prints one JSON line per KSP type (rank 0): setup and median KSPSolve
time over --repeat solves, iterations, the true relative residual.

  mpirun -np 2 --allow-run-as-root /usr/bin/python3 petsc_cg_mpi.py --kind poisson2d --n 2048
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--kind", default="poisson2d", choices=("poisson2d", "poisson3d"))
p.add_argument("--n", type=int, default=2048)
p.add_argument("--ksps", default="cg,pipecg")
p.add_argument("--pcs", default="none", help="preconditioners (none, jacobi, gamg), each with every KSP type")
p.add_argument("--rtol", type=float, default=1e-8)
p.add_argument("--repeat", type=int, default=3)
p.add_argument("--max-it", type=int, default=100000, help="iteration cap (pde-bench mpi --iterations)")
args = p.parse_args()

import petsc4py  # noqa: E402
petsc4py.init()
from petsc4py import PETSc  # noqa: E402

comm = PETSc.COMM_WORLD
rank, size = comm.getRank(), comm.getSize()
n = args.n
dim = 2 if args.kind == "poisson2d" else 3
N = n ** dim
h = 1.0 / (n + 1)

# PETSc's default row split (PetscSplitOwnership): the first N mod size ranks get one more.
base, extra = divmod(N, size)
rstart = rank * base + min(rank, extra)
rend = rstart + base + (1 if rank < extra else 0)


def local_rows(r0, r1):
    """CSR rows r0..r1-1 of the (2d+1)-point Laplacian / h^2 (sorted columns)."""
    rows = np.arange(r0, r1)
    idx = [rows % n]
    rest = rows // n
    for _ in range(dim - 1):
        idx.append(rest % n)
        rest //= n
    cols, vals = [rows], [np.full(rows.size, 2.0 * dim / h**2)]
    stride = 1
    for d in range(dim):
        for s in (-1, 1):
            ok = (idx[d] + s >= 0) & (idx[d] + s < n)
            c = np.where(ok, rows + s * stride, -1)
            cols.append(c)
            vals.append(np.where(ok, -1.0 / h**2, 0.0))
        stride *= n
    C = np.stack(cols, axis=1)
    V = np.stack(vals, axis=1)
    order = np.argsort(np.where(C < 0, np.iinfo(np.int64).max, C), axis=1)
    C = np.take_along_axis(C, order, axis=1)
    V = np.take_along_axis(V, order, axis=1)
    keep = C >= 0
    counts = keep.sum(axis=1)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return indptr, C[keep], V[keep]


def exact_local(r0, r1):
    """u_exact = prod sin(pi t) exp(t) at the owned rows (poisson_matrix.py's sinexp)."""
    rows = np.arange(r0, r1)
    u = np.ones(rows.size)
    rest = rows
    for _ in range(dim):
        t = (rest % n + 1) * h
        u *= np.sin(np.pi * t) * np.exp(t)
        rest = rest // n
    return u


t0 = time.perf_counter()
it = PETSc.IntType
indptr, cols, vals = local_rows(rstart, rend)
A = PETSc.Mat().createAIJ(size=((rend - rstart, N), (rend - rstart, N)),
                          csr=(indptr.astype(it), cols.astype(it), vals), comm=comm)
A.setOption(PETSc.Mat.Option.SPD, True)
A.assemble()
u = A.createVecRight()
u.setArray(exact_local(rstart, rend))
b = A.createVecLeft()
A.mult(u, b)
assembly = time.perf_counter() - t0
x, r = b.duplicate(), b.duplicate()
bnorm = b.norm()

for kt, pc in [(k, q) for q in args.pcs.split(",") for k in args.ksps.split(",")]:
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setType(kt)
    ksp.getPC().setType(pc)
    ksp.setTolerances(rtol=args.rtol, atol=0.0, max_it=args.max_it)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setFromOptions()
    t = time.perf_counter()
    ksp.setUp()
    setup = time.perf_counter() - t
    times, its = [], 0
    for _ in range(args.repeat):
        x.set(0.0)
        comm.barrier()
        t = time.perf_counter()
        ksp.solve(b, x)
        comm.barrier()
        times.append(time.perf_counter() - t)
        its = ksp.getIterationNumber()
    A.mult(x, r)
    r.aypx(-1.0, b)
    rel = r.norm() / bnorm
    if rank == 0:
        times.sort()
        med = times[len(times) // 2]
        print(json.dumps({"tool": f"petsc_{kt}" + ("" if pc == "none" else f"_{pc}"), "setup_seconds": setup, "case": f"{args.kind}-{n}", "ranks": size, "rows": N,
                          "iterations": its, "solve_seconds": med, "all_seconds": times,
                          "sec_per_iter": med / max(1, its), "rel_residual": rel,
                          "assembly_seconds": assembly, "reason": str(ksp.getConvergedReason()),
                          "petsc": ".".join(map(str, PETSc.Sys.getVersion()))}), flush=True)
