#!/usr/bin/env python3
"""The FNO data generators in numpy/scipy (PyTorch optional): time per sample or per step.

`pde-bench spectral` (and `pde-bench burgers`) time SwiftPDE's Darcy, Navier-Stokes and
Burgers dataset generators against these, on the same parameters, and cross-check their
output with the arrays --save writes. The random draws (numpy default_rng(--seed)) and the
floating-point operations are those of SwiftPDE's generators, in the same order.

Cases:

  darcy    -div(a grad u) = 1 on (0,1)^2, u = 0 on the boundary, s x s nodes with the
           boundary (FNO: s = 421), h = 1/(s-1). psi is a Gaussian random field in the
           cosine (Neumann) basis: idctn(type 2, orthonormal) of s * c_k * xi_k, xi ~ N(0,1)
           drawn as one (s, s) array, c_k = tau^(alpha-1) (pi^2 |k|^2 + tau^2)^(-alpha/2),
           alpha = 2, tau = 3, c_00 = 0 (FNO's GRF.m); a = 12 where psi >= 0, else 3.
           5-point finite differences on the (s-2)^2 interior nodes, the coefficient of a
           face the mean of its two nodes, scaled by 1/h^2; solved by scipy spsolve. The
           timed part of a sample is field + matrix + solve.
  ns       vorticity form of 2-D Navier-Stokes on the unit torus (FNO's ns_2d.py), N x N
           grid, batch B: nu = 1e-3, dt = 1e-4, forcing f = 0.1 (sin 2pi(x+y) +
           cos 2pi(x+y)); w0 ~ N(0, 7^(3/2) (-Lap + 49 I)^(-2.5)) sampled spectrally (one
           real then one imaginary (B, N, N) normal draw). Pseudo-spectral in rfft2
           layout: psi = w / |2pi k|^2 (the 0 mode divided by 1), velocity (psi_y, -psi_x),
           advection u.grad w explicit with the 2/3 rule (|k_x|, |k_y| <= (2/3)(N//2) kept),
           viscosity Crank-Nicolson. 5 warm-up steps, then --steps timed; FNO's samples
           take 500 000 steps (t = 50), hence projected_seconds_per_sample.
  burgers  u_t + (u^2/2)_x = nu u_xx on the periodic unit interval, N points, nu = 0.1,
           u0 ~ N(0, 625 (-Lap + 25 I)^-2) sampled spectrally (zero mean); ETDRK4 of
           Kassam & Trefethen (2005), coefficients by the mean over M = 32 points of a
           unit circle, dt = 1e-4, t in [0, 1] (10 000 steps), 2/3 rule (k <= N/3 kept).
           The timed part of a sample is the time stepping.

Options: darcy --s S --samples K; ns --n N --batch B --steps K --backend numpy|torch
--threads T (scipy.fft workers or torch.set_num_threads); burgers --n N --samples K;
--seed (default 0); --save DIR writes the first sample's arrays as .npy: darcy_a.npy and
darcy_u.npy (s x s), ns_w0.npy and ns_w_after_<K+5>_steps.npy (B x N x N, [x, y]
indexing), burgers_u0.npy and burgers_u1.npy (N).

Output: one JSON object on stdout.
  darcy    case, tool (scipy_spsolve), seconds_per_sample (median), samples, unknowns
  ns       case, tool (scipy_fft | torch_fft), seconds_per_step, threads,
           steps_per_sample_fno, projected_seconds_per_sample
  burgers  case, tool (numpy_etdrk4), seconds_per_sample (median), steps, samples
With --backend torch and no PyTorch installed, {"case", "tool", "skipped"} is printed, a
note goes to stderr and the exit status is 0.

  python3 datagen_peer.py --case darcy --s 421 --samples 3
  python3 datagen_peer.py --case ns --n 256 --batch 1 --steps 200 --backend numpy
  python3 datagen_peer.py --case burgers --n 8192 --samples 2 --save /tmp/burgers
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

NS_WARMUP_STEPS = 5
NS_FNO_STEPS = 500_000  # FNO's ns_2d.py: T = 50 at dt = 1e-4


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True, choices=("darcy", "ns", "burgers"), help="generator to time")
    p.add_argument("--s", type=int, default=421, help="darcy: nodes per axis, boundary included (default: %(default)s)")
    p.add_argument("--n", type=int, default=256, help="ns: grid points per axis; burgers: points (default: %(default)s)")
    p.add_argument("--batch", type=int, default=1, help="ns: fields stepped together (default: %(default)s)")
    p.add_argument("--steps", type=int, default=200, help="ns: timed steps, after 5 warm-up steps (default: %(default)s)")
    p.add_argument("--samples", type=int, default=3, help="darcy, burgers: samples, median time reported (default: %(default)s)")
    p.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                   help="ns: FFTs of scipy.fft or torch.fft (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="ns: scipy.fft workers / torch threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of numpy's default_rng (default: %(default)s)")
    p.add_argument("--save", metavar="DIR", help="folder for the first sample's arrays (.npy), created if missing")
    args = p.parse_args(argv)
    if args.s < 3:
        p.error("--s must be at least 3")
    if args.n < 4:
        p.error("--n must be at least 4")
    for name in ("batch", "steps", "samples", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    return args


def emit(row):
    print(json.dumps(row), flush=True)


def save(folder, arrays):
    os.makedirs(folder, exist_ok=True)
    for name, array in arrays.items():
        np.save(os.path.join(folder, name), np.asarray(array))


# ---------------------------------------------------------------------------------------
# Darcy

def darcy_field_scale(s, alpha=2.0, tau=3.0):
    """s * c_k of the cosine expansion, c_k = tau^(alpha-1) (pi^2 |k|^2 + tau^2)^(-alpha/2)."""
    k = np.arange(s)
    ki, kj = np.meshgrid(k, k, indexing="ij")
    c = tau ** (alpha - 1) * (np.pi**2 * (ki**2 + kj**2) + tau**2) ** (-alpha / 2)
    c[0, 0] = 0.0
    return s * c


def darcy_matrix(a, h):
    """CSC matrix of -div(a grad .) on the interior nodes of a, row = i*(s-2) + j."""
    import scipy.sparse as sp

    m = a.shape[0] - 2
    # Face coefficients, the mean of the two nodes of the face, for the faces that touch an
    # interior node: along axis 1 (m, s-1), face [i, j] between nodes (i+1, j) and (i+1, j+1);
    # along axis 0 (s-1, m), face [i, j] between nodes (i, j+1) and (i+1, j+1).
    face1 = 0.5 * (a[1:-1, :-1] + a[1:-1, 1:])
    face0 = 0.5 * (a[:-1, 1:-1] + a[1:, 1:-1])
    diagonal = face1[:, :-1] + face1[:, 1:] + face0[:-1, :] + face0[1:, :]
    # Couplings of node p with p + 1 (none across the end of a row) and with p + m.
    next_in_row = np.zeros((m, m))
    next_in_row[:, :-1] = face1[:, 1:-1]
    next_in_row = -next_in_row.ravel()[:-1]
    next_row = -face0[1:-1, :].ravel()
    scale = 1 / h**2
    A = sp.diags([next_row * scale, next_in_row * scale, diagonal.ravel() * scale, next_in_row * scale, next_row * scale],
                 [-m, -1, 0, 1, m], shape=(m * m, m * m), format="csc")
    A.eliminate_zeros()  # the row ends
    A.sort_indices()
    return A


def run_darcy(args):
    import scipy.fft
    import scipy.sparse.linalg

    s = args.s
    m = s - 2
    h = 1.0 / (s - 1)
    scale = darcy_field_scale(s)
    rhs = np.ones(m * m)
    rng = np.random.default_rng(args.seed)
    seconds = []
    for sample in range(args.samples):
        start = time.perf_counter()
        psi = scipy.fft.idctn(scale * rng.standard_normal((s, s)), type=2, norm="ortho")
        a = np.where(psi >= 0, 12.0, 3.0)
        u = np.zeros((s, s))
        u[1:-1, 1:-1] = scipy.sparse.linalg.spsolve(darcy_matrix(a, h), rhs).reshape(m, m)
        seconds.append(time.perf_counter() - start)
        if sample == 0 and args.save:
            save(args.save, {"darcy_a.npy": a, "darcy_u.npy": u})
    emit({"case": f"darcy_s{s}", "tool": "scipy_spsolve", "seconds_per_sample": float(np.median(seconds)),
          "samples": args.samples, "unknowns": m * m})


# ---------------------------------------------------------------------------------------
# Navier-Stokes

def ns_initial_vorticity(rng, n, batch, alpha=2.5, tau=7.0):
    """w0 of FNO's ns_2d.py, (batch, n, n), indexed [x, y]."""
    freq = np.fft.fftfreq(n, d=1.0 / n)
    kx, ky = np.meshgrid(freq, freq, indexing="ij")
    sigma = tau ** (0.5 * (2 * alpha - 2))
    amplitude = n * n * math.sqrt(2.0) * sigma * (4 * math.pi**2 * (kx**2 + ky**2) + tau**2) ** (-alpha / 2)
    amplitude[0, 0] = 0.0
    real = rng.standard_normal((batch, n, n))
    imag = rng.standard_normal((batch, n, n))
    return np.fft.ifft2(amplitude * (real + 1j * imag)).real


class FFT:
    """rfft2 / irfft2 over the last two axes, and conversion of numpy arrays, per backend."""

    def __init__(self, backend, n, threads):
        self.n = n
        if backend == "torch":
            import torch

            torch.set_num_threads(threads)
            self.tool = "torch_fft"
            self.array = torch.as_tensor
            self.rfft2 = torch.fft.rfft2
            self.irfft2 = lambda x: torch.fft.irfft2(x, s=(n, n))
        else:
            import scipy.fft

            self.tool = "scipy_fft"
            self.array = lambda x: x
            self.rfft2 = lambda x: scipy.fft.rfft2(x, workers=threads)
            self.irfft2 = lambda x: scipy.fft.irfft2(x, s=(n, n), workers=threads)


def ns_stepper(fft, n, nu=1e-3, dt=1e-4):
    """The step w_hat -> w_hat(t + dt) of FNO's ns_2d.py, in rfft2 layout."""
    freq = np.fft.fftfreq(n, d=1.0 / n)
    kx, ky = np.meshgrid(freq, freq, indexing="ij")
    half = n // 2
    kx, ky = kx[:, : half + 1], ky[:, : half + 1]
    lap = 4 * math.pi**2 * (kx**2 + ky**2)
    lap[0, 0] = 1.0
    keep = ((np.abs(kx) <= 2.0 / 3.0 * half) & (np.abs(ky) <= 2.0 / 3.0 * half)).astype(float)
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    forcing = 0.1 * (np.sin(2 * np.pi * (X + Y)) + np.cos(2 * np.pi * (X + Y)))

    lap, keep, kx, ky = (fft.array(t) for t in (lap, keep, kx, ky))
    forcing_hat = fft.rfft2(fft.array(forcing))[None]
    cn_explicit = 1.0 - 0.5 * dt * nu * lap
    cn_implicit = 1.0 + 0.5 * dt * nu * lap
    d = 2j * math.pi  # d/dx of exp(2 pi i k x) is 2 pi i k

    def step(w_hat):
        psi_hat = w_hat / lap
        ux = fft.irfft2(d * ky * psi_hat)
        uy = -fft.irfft2(d * kx * psi_hat)
        wx = fft.irfft2(d * kx * w_hat)
        wy = fft.irfft2(d * ky * w_hat)
        advection_hat = keep * fft.rfft2(ux * wx + uy * wy)
        return (-dt * advection_hat + dt * forcing_hat + cn_explicit * w_hat) / cn_implicit

    return step


def run_ns(args):
    n, batch = args.n, args.batch
    case = f"ns_n{n}_b{batch}"
    try:
        fft = FFT(args.backend, n, args.threads)
    except ImportError as e:
        print(f"datagen_peer.py: {e}; install PyTorch with BENCH_TORCH=1 scripts/install-bench-deps", file=sys.stderr)
        emit({"case": case, "tool": "torch_fft", "skipped": "PyTorch is not installed"})
        return
    w0 = ns_initial_vorticity(np.random.default_rng(args.seed), n, batch)
    step = ns_stepper(fft, n)
    w_hat = fft.rfft2(fft.array(w0))
    for _ in range(NS_WARMUP_STEPS):
        w_hat = step(w_hat)
    start = time.perf_counter()
    for _ in range(args.steps):
        w_hat = step(w_hat)
    per_step = (time.perf_counter() - start) / args.steps
    if args.save:
        save(args.save, {"ns_w0.npy": w0, f"ns_w_after_{args.steps + NS_WARMUP_STEPS}_steps.npy": fft.irfft2(w_hat)})
    emit({"case": case, "tool": fft.tool, "seconds_per_step": per_step, "threads": args.threads,
          "steps_per_sample_fno": NS_FNO_STEPS, "projected_seconds_per_sample": per_step * NS_FNO_STEPS})


# ---------------------------------------------------------------------------------------
# Burgers

def etdrk4_coefficients(L, dt, points=32):
    """Q, f1, f2, f3 of Kassam & Trefethen for the diagonal operator L (contour means)."""
    r = np.exp(1j * np.pi * (np.arange(1, points + 1) - 0.5) / points)
    z = dt * L[:, None] + r[None, :]
    ez = np.exp(z)
    z3 = z**3

    def mean(values):
        return dt * np.real(np.mean(values, axis=1))

    Q = mean((np.exp(z / 2) - 1) / z)
    f1 = mean((-4 - z + ez * (4 - 3 * z + z**2)) / z3)
    f2 = mean((2 + z + ez * (-2 + z)) / z3)
    f3 = mean((-4 - 3 * z - z**2 + ez * (4 - z)) / z3)
    return Q, f1, f2, f3


def run_burgers(args, nu=0.1, dt=1e-4, t_end=1.0):
    n = args.n
    k = np.fft.rfftfreq(n, d=1.0 / n)
    wavenumber = 2 * np.pi * k
    L = -nu * wavenumber**2
    E, E2 = np.exp(dt * L), np.exp(dt * L / 2)
    Q, f1, f2, f3 = etdrk4_coefficients(L, dt)
    # -(u^2/2)_x in Fourier space, 2/3 rule
    flux = (k <= n / 3).astype(float) * (-0.5j * wavenumber)
    amplitude = 25.0 * (4 * np.pi**2 * k**2 + 25.0) ** -1.0  # square root of the spectrum

    def N(v_hat):
        u = np.fft.irfft(v_hat, n=n)
        return flux * np.fft.rfft(u * u)

    steps = int(round(t_end / dt))
    rng = np.random.default_rng(args.seed)
    seconds = []
    for sample in range(args.samples):
        real = rng.standard_normal(k.size)
        imag = rng.standard_normal(k.size)
        v = n * amplitude * ((real + 1j * imag) / math.sqrt(2))
        v[0] = 0.0
        u0 = np.fft.irfft(v, n=n)
        start = time.perf_counter()
        for _ in range(steps):
            Nv = N(v)
            a = E2 * v + Q * Nv
            Na = N(a)
            b = E2 * v + Q * Na
            Nb = N(b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = N(c)
            v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
        seconds.append(time.perf_counter() - start)
        if sample == 0 and args.save:
            save(args.save, {"burgers_u0.npy": u0, "burgers_u1.npy": np.fft.irfft(v, n=n)})
    emit({"case": f"burgers_n{n}", "tool": "numpy_etdrk4", "seconds_per_sample": float(np.median(seconds)),
          "steps": steps, "samples": args.samples})


def main(argv=None):
    args = parse_args(argv)
    {"darcy": run_darcy, "ns": run_ns, "burgers": run_burgers}[args.case](args)


if __name__ == "__main__":
    main()
