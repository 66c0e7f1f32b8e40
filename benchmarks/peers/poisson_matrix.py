#!/usr/bin/env python3
"""Test problems of the peer benchmarks: SPD matrices, right-hand sides, Matrix Market files.

Used as a module by cg_peers.py and petsc_cg.py (and by SwiftPDE's tests), and as a
command that writes a problem to Matrix Market files for pde-bench.

Matrices (Dirichlet problems on the unit square / cube, interior unknowns only, natural
ordering with x fastest: unknown (i, j[, k]) is row i + n*j [+ n*n*k], i, j, k = 0..n-1):

  poisson2d  5-point Laplacian on n x n interior nodes, scaled by 1/h^2, h = 1/(n+1):
             4/h^2 on the diagonal, -1/h^2 for each of the 4 neighbours inside the grid.
  poisson3d  7-point Laplacian on n x n x n interior nodes, scaled by 1/h^2 (6/h^2, -1/h^2).
  aniso2d    pyamg's rotated anisotropic diffusion (bilinear FE stencil, epsilon = 0.001,
             theta = pi/8) on an n x n grid: pyamg.gallery.stencil_grid of
             diffusion_stencil_2d, unscaled, exactly as pyamg builds it (needs pyamg).

Right-hand sides, b = A u at the interior nodes x = (i+1) h, so that the discrete solution
is u itself:

  sinexp     u = prod_a sin(pi x_a) * exp(sum_a x_a)  (the default; what pde-bench uses)
  ones       b = 1, no known solution

Command line (A in coordinate form with symmetry 'symmetric', the vectors as one-column
'array' files next to it, a JSON comment with the problem's parameters in every file):

  python3 poisson_matrix.py --kind aniso2d --n 256 --out work/aniso2d_n256.mtx
      writes work/aniso2d_n256.mtx, work/aniso2d_n256_b.mtx, work/aniso2d_n256_uexact.mtx
  python3 poisson_matrix.py --kind poisson3d --n 32          (no --out: describe only)

Either way one JSON line describing the problem is printed on stdout.
"""
import argparse
import json
import math
import os

import numpy as np
import scipy.io
import scipy.sparse as sp

KINDS = ("poisson2d", "poisson3d", "aniso2d")
RIGHT_HAND_SIDES = ("sinexp", "ones")

#: Parameters of pyamg's diffusion_stencil_2d for the aniso2d kind.
ANISO_EPSILON = 0.001
ANISO_THETA = math.pi / 8


def dimension(kind):
    """Number of space dimensions of a problem kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    return 3 if kind == "poisson3d" else 2


def second_difference(n):
    """The 1-D Dirichlet operator tridiag(-1, 2, -1) / h^2 on n interior nodes, h = 1/(n+1).

    1/h^2 is computed as 1 / (h*h) from the floating-point h, as SwiftPDE's
    FiniteDifference.laplacian does, so both build bit-identical matrices.
    """
    h = 1.0 / (n + 1)
    k = 1.0 / (h * h)
    off = np.full(n - 1, -k)
    return sp.diags([off, np.full(n, 2.0 * k), off], [-1, 0, 1], format="csr")


def dirichlet_laplacian(dim, n):
    """The (2*dim+1)-point Laplacian on n^dim interior nodes as a Kronecker sum.

    Axis a (x = 0) acts on the digit of weight n^a of the row index, so x runs fastest.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    t = second_difference(n)
    total = None
    for axis in range(dim):
        slow = sp.identity(n ** (dim - 1 - axis), format="csr")
        fast = sp.identity(n ** axis, format="csr")
        term = sp.kron(sp.kron(slow, t), fast, format="csr")
        total = term if total is None else total + term
    return total


def aniso_stencil():
    """pyamg's 3 x 3 stencil of the rotated anisotropic diffusion (needs pyamg)."""
    from pyamg.gallery import diffusion_stencil_2d
    return diffusion_stencil_2d(epsilon=ANISO_EPSILON, theta=ANISO_THETA, type="FE")


def build_matrix(kind, n):
    """The matrix of `kind` on n nodes per axis: scipy CSR, float64, sorted, no duplicates."""
    dim = dimension(kind)  # also rejects an unknown kind
    if kind == "aniso2d":
        from pyamg.gallery import stencil_grid
        a = stencil_grid(aniso_stencil(), (n, n), format="csr")
    else:
        a = dirichlet_laplacian(dim, n)
    a = sp.csr_matrix(a, dtype=np.float64)
    a.sum_duplicates()
    a.eliminate_zeros()
    a.sort_indices()
    return a


def sinexp_solution(kind, n):
    """u = prod sin(pi x_a) exp(x_a) at the interior nodes, flattened with x fastest.

    The function is a product of one 1-D factor per axis, so the grid values are the
    Kronecker product of the 1-D samples (the slowest axis first).
    """
    x = np.arange(1, n + 1, dtype=np.float64) / (n + 1)
    factor = np.sin(np.pi * x) * np.exp(x)
    u = factor
    for _ in range(dimension(kind) - 1):
        u = np.kron(factor, u)
    return u


def build_problem(kind, n, rhs="sinexp"):
    """(A, b, u): the matrix, the right-hand side and the exact solution (None for `ones`)."""
    a = build_matrix(kind, n)
    if rhs == "sinexp":
        u = sinexp_solution(kind, n)
        return a, a @ u, u
    if rhs == "ones":
        return a, np.ones(a.shape[0]), None
    raise ValueError(f"unknown right-hand side {rhs!r}: expected one of {', '.join(RIGHT_HAND_SIDES)}")


def companion_paths(matrix_path):
    """The right-hand side and exact-solution files that go with a matrix file."""
    stem = os.path.splitext(matrix_path)[0]
    return stem + "_b.mtx", stem + "_uexact.mtx"


def _read_vector(path):
    return np.asarray(scipy.io.mmread(path), dtype=np.float64).reshape(-1)


def read_problem(matrix_path):
    """(name, A, b, u) from a matrix file and its companions (written here or by pde-bench).

    b is read from `<stem>_b.mtx` (ones when absent), u from `<stem>_uexact.mtx` (None
    when absent); the name is the file's stem.
    """
    a = sp.csr_matrix(scipy.io.mmread(matrix_path), dtype=np.float64)
    a.sum_duplicates()
    a.sort_indices()
    b_path, u_path = companion_paths(matrix_path)
    b = _read_vector(b_path) if os.path.exists(b_path) else np.ones(a.shape[0])
    u = _read_vector(u_path) if os.path.exists(u_path) else None
    for name, v in (("right-hand side", b), ("exact solution", u)):
        if v is not None and v.shape[0] != a.shape[0]:
            raise ValueError(f"{matrix_path}: {name} has {v.shape[0]} entries, the matrix {a.shape[0]} rows")
    return os.path.splitext(os.path.basename(matrix_path))[0], a, b, u


def load(kind, n, rhs="sinexp", mtx=None):
    """(name, n or None, A, b, u) for the peers' common options: a file when `mtx` is
    given, otherwise the built problem named `<kind>_n<n>_<rhs>`."""
    if mtx:
        name, a, b, u = read_problem(mtx)
        return name, None, a, b, u
    a, b, u = build_problem(kind, n, rhs)
    return f"{kind}_n{n}_{rhs}", n, a, b, u


def describe(kind, n, rhs, a):
    """The JSON-ready parameters of a problem (also written as a comment into its files)."""
    d = {"kind": kind, "n": n, "dim": dimension(kind), "rhs": rhs, "rows": int(a.shape[0]), "nnz": int(a.nnz)}
    if kind == "aniso2d":
        d.update(epsilon=ANISO_EPSILON, theta="pi/8", stencil_type="FE", stencil=aniso_stencil().tolist())
    else:
        d.update(h=1.0 / (n + 1), scaled="1/h^2")
    return d


def write_problem(path, kind, n, rhs="sinexp"):
    """Writes A to `path` and b (and u when known) next to it; returns the description."""
    a, b, u = build_problem(kind, n, rhs)
    meta = describe(kind, n, rhs, a)
    comment = json.dumps(meta)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    b_path, u_path = companion_paths(path)
    scipy.io.mmwrite(path, a, comment=comment, symmetry="symmetric")
    scipy.io.mmwrite(b_path, b.reshape(-1, 1), comment=comment)
    written = [path, b_path]
    if u is not None:
        scipy.io.mmwrite(u_path, u.reshape(-1, 1), comment=comment)
        written.append(u_path)
    meta["written"] = written
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=KINDS, default="poisson2d", help="problem kind (default: %(default)s)")
    parser.add_argument("--n", type=int, default=64, help="interior nodes per axis (default: %(default)s)")
    parser.add_argument("--rhs", choices=RIGHT_HAND_SIDES, default="sinexp", help="right-hand side (default: %(default)s)")
    parser.add_argument("--out", metavar="PATH", help="write A to PATH (.mtx) and b, u beside it; without it only describe")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.out:
        meta = write_problem(args.out, args.kind, args.n, args.rhs)
    else:
        meta = describe(args.kind, args.n, args.rhs, build_matrix(args.kind, args.n))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
