#!/usr/bin/env python3
"""The LPN paper's 1-D Laplace toy in PyTorch, as a peer for `pde-bench lpn --cases laplace`.

Rebuilt from the protocol of the reference notebook (ZhenghanFang/learned-proximal-networks,
exps/laplacian): x ~ Laplace(0, 1), y = x + N(0, 1), whose MAP denoiser is soft-thresholding at
1. The network is an input-convex ψ (hidden 50, 4 hidden-to-hidden layers, softplus β = 10,
PyTorch's default initialization with the hidden weights clamped at 0 after every step), the
prox f = ∇ψ by autograd. Schedule: ℓ¹ 10 000 steps at 1e-3 and 10 000 at 1e-4; proximal
matching 1 − exp(−(f − x)²/γ²) with γ = 0.5 (2000 at 1e-3, 2000 at 1e-4), 0.4 (4000 at 1e-4),
0.3 (4000 at 1e-4), 0.2 (4000 at 1e-5), 0.1 (4000 at 1e-5, 4000 at 1e-6); Adam, batch 2000.
Prints the max |f(y) − soft(y, 1)| on 601 points of [−3, 3] (the figure of
`pde-bench lpn --cases laplace`) after the ℓ¹ phase and after each γ, and one JSON line.

    python3 benchmarks/peers/lpn_laplace_peer.py [--seed 1] [--scale 1.0]

`--scale` multiplies every phase's step count (0.05 for a quick look).
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class ConvexPotential(nn.Module):
    def __init__(self, hidden=50, layers=4, beta=10.0):
        super().__init__()
        self.first = nn.Linear(1, hidden, bias=False)
        self.hidden = nn.ModuleList([nn.Linear(hidden, hidden, bias=False) for _ in range(layers)])
        self.last = nn.Linear(hidden, 1, bias=False)
        self.skips = nn.ModuleList([nn.Linear(1, hidden) for _ in range(layers)] + [nn.Linear(1, 1)])
        self.act = nn.Softplus(beta=beta)

    def potential(self, y):
        z = self.act(self.first(y))
        for w, s in zip(self.hidden, self.skips[:-1]):
            z = self.act(w(z) + s(y))
        return self.last(z) + self.skips[-1](y)

    def project(self):
        with torch.no_grad():
            for w in list(self.hidden) + [self.last]:
                w.weight.clamp_(min=0)

    def forward(self, y):
        with torch.enable_grad():
            y = y.detach().requires_grad_(True) if not y.requires_grad else y
            psi = self.potential(y)
            return torch.autograd.grad(psi.sum(), y, create_graph=True)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    laplace = torch.distributions.laplace.Laplace(0.0, 1.0)
    net = ConvexPotential()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    grid = torch.linspace(-3, 3, 601).unsqueeze(1)
    soft = torch.sign(grid) * torch.clamp(grid.abs() - 1, min=0)

    def error():
        return (net(grid).detach() - soft).abs().max().item()

    def run(steps, lr, gamma=None):
        for g in opt.param_groups:
            g["lr"] = lr
        for _ in range(max(1, int(steps * args.scale))):
            x = laplace.sample((2000,)).unsqueeze(1)
            y = x + torch.randn_like(x)
            d = net(y) - x
            loss = d.abs().mean() if gamma is None else (1 - torch.exp(-(d / gamma) ** 2)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            net.project()
        return loss.item()

    start = time.time()
    stages = []
    run(10000, 1e-3)
    loss = run(10000, 1e-4)
    stages.append({"phase": "l1", "loss": loss, "prox_error": error()})
    for gamma, parts in [(0.5, [(2000, 1e-3), (2000, 1e-4)]), (0.4, [(4000, 1e-4)]), (0.3, [(4000, 1e-4)]),
                         (0.2, [(4000, 1e-5)]), (0.1, [(4000, 1e-5), (4000, 1e-6)])]:
        for steps, lr in parts:
            loss = run(steps, lr, gamma)
        stages.append({"phase": f"gamma {gamma}", "loss": loss, "prox_error": error()})
        print(f"{stages[-1]['phase']:>10}  loss {loss:.4e}  max |f - soft| on [-3, 3] {stages[-1]['prox_error']:.4f}", flush=True)
    print(json.dumps({"seed": args.seed, "scale": args.scale, "seconds": time.time() - start,
                      "prox_error": stages[-1]["prox_error"], "stages": stages}))


if __name__ == "__main__":
    main()
