#!/usr/bin/env python3
"""Can the Laplace toy's network represent soft-thresholding? A diagnostic, not a method.

Fits the prox f = ∇ψ of the input-convex network of `peers/lpn_laplace_peer.py` (hidden 50,
4 hidden-to-hidden layers, softplus β = 10, PyTorch's default initialization with the hidden
weights clamped at 0) by least squares straight to soft-thresholding at 1, on y drawn as in
the toy (x ~ Laplace(0, 1), y = x + N(0, 1)): Adam, batch 2000, 6000 steps at 1e-3 and 6000 at
1e-4, seed 1. Prints the mean squared error of the batch and max |f(y) − soft(y)| on 601 points
of [−3, 3] (the figure of `pde-bench lpn --cases laplace`) every 2000 steps.

    /tmp/torchvenv/bin/python benchmarks/lpn-laplace-fit.py [--beta 10]

BENCHMARKS.md (lpn, fifth session) quotes its final max error: what the architecture can reach
when the target is given, against what proximal matching reaches from samples.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from lpn_laplace_peer import ConvexPotential  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beta", type=float, default=10.0)
    args = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(1)
    net = ConvexPotential(beta=args.beta)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    grid = torch.linspace(-3, 3, 601).unsqueeze(1)
    soft = torch.sign(grid) * torch.clamp(grid.abs() - 1, min=0)
    laplace = torch.distributions.laplace.Laplace(0.0, 1.0)
    start = time.time()
    for step in range(12000):
        if step == 6000:
            for g in opt.param_groups:
                g["lr"] = 1e-4
        x = laplace.sample((2000, 1))
        y = x + torch.randn_like(x)
        target = torch.sign(y) * torch.clamp(y.abs() - 1, min=0)
        loss = ((net(y) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.project()
        if step % 2000 == 1999:
            error = (net(grid).detach() - soft).abs().max().item()
            print(f"step {step + 1:5d}  mse {loss.item():.3e}  max |f - soft| on [-3, 3] {error:.4f}  {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
