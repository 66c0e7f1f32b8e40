"""PyTorch peer of SwiftPDE's fully convolutional learned proximal network (LPN; Fang,
Buchanan & Sulam, ICLR 2024): the same input-convex network, timed for one training step
(forward, the prox f = grad psi, an L1 loss of f against the clean patches, backward, Adam,
non-negativity clamp) and for one prox of a whole image.

Network (SwiftPDE's `LearnedProximalNetwork.Kind.fullyConvolutional`), y [B, C, H, W], s =
softplus with beta:
  z0 = s(lin0 * y);  zk = s(link * z(k-1) + res(k-1) * y),  k = 1..L   (3x3, stride 1, pad 1)
  psi(y) = sum over pixels (lin(L+1) * zL + resL * y) + alpha/2 |y|^2     (1x1 read-outs)
lin.* have no bias, res.* have biases; lin.1 .. lin.(L+1) are clamped >= 0 after each step.

Two ways of computing f = grad psi, both timed:
  autograd  the reference implementation's way (ZhenghanFang/learned-proximal-networks):
            torch.autograd.grad(psi, y, create_graph=True), differentiated again by backward()
  explicit  a hand-written backward pass (sigmoid(beta a) and conv_transpose2d), as SwiftPDE
            builds it, differentiated once by backward()
Training patches: --patches, an .npy [N, 1, p, p] of clean patches; each step draws --batch
of them with replacement and adds N(0, --noise^2) noise (torch's generator, seeded).
Timing as `pde-bench lpn --cases timing`: 2 warm-up steps, then the median over --repeat runs
of 5 steps each, divided by 5; the prox: median of --repeat calls on a --prox-size^2 image.
Prints one JSON object per variant.

  python3 lpn_peer.py --patches p.npy --hidden 32 --layers 4 --beta 100 --alpha 0.001 --threads 2
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--patches", required=True, help=".npy of clean patches [N, 1, p, p] (float32)")
p.add_argument("--hidden", type=int, default=32)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--beta", type=float, default=100.0)
p.add_argument("--alpha", type=float, default=0.001)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--noise", type=float, default=0.1)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--repeat", type=int, default=3)
p.add_argument("--prox-size", type=int, default=256)
p.add_argument("--threads", type=int, help="torch.set_num_threads (default: leave as is)")
p.add_argument("--variants", default="autograd,explicit")
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)


class FullyConvolutionalLPN(nn.Module):
    def __init__(self, channels, hidden, layers, beta, alpha):
        super().__init__()
        self.layers, self.beta, self.alpha = layers, beta, alpha
        self.lin = nn.ModuleList([nn.Conv2d(channels, hidden, 3, padding=1, bias=False)]
                                 + [nn.Conv2d(hidden, hidden, 3, padding=1, bias=False) for _ in range(layers)]
                                 + [nn.Conv2d(hidden, 1, 1, bias=False)])
        self.res = nn.ModuleList([nn.Conv2d(channels, hidden, 3, padding=1) for _ in range(layers)]
                                 + [nn.Conv2d(channels, 1, 1)])
        self.clamp()

    def clamp(self):
        with torch.no_grad():
            for m in self.lin[1:]:
                m.weight.clamp_(min=0)

    def scalar(self, y):
        z = F.softplus(self.lin[0](y), beta=self.beta)
        for k in range(1, self.layers + 1):
            z = F.softplus(self.lin[k](z) + self.res[k - 1](y), beta=self.beta)
        out = self.lin[-1](z) + self.res[-1](y)
        return out.sum(dim=(1, 2, 3)) + 0.5 * self.alpha * (y * y).sum(dim=(1, 2, 3))

    def prox_autograd(self, y, create_graph):
        with torch.enable_grad():
            if not y.requires_grad:
                y = y.detach().requires_grad_(True)
            psi = self.scalar(y)
            return torch.autograd.grad(psi.sum(), y, create_graph=create_graph)[0]

    def prox_explicit(self, y):
        pre = []
        a = self.lin[0](y)
        pre.append(a)
        z = F.softplus(a, beta=self.beta)
        for k in range(1, self.layers + 1):
            a = self.lin[k](z) + self.res[k - 1](y)
            pre.append(a)
            z = F.softplus(a, beta=self.beta)
        b, c, h, w = y.shape
        g = self.lin[-1].weight.expand(b, -1, h, w)
        grad = self.res[-1].weight.expand(b, c, h, w) + self.alpha * y
        for k in range(self.layers, 0, -1):
            ga = g * torch.sigmoid(self.beta * pre[k])
            grad = grad + F.conv_transpose2d(ga, self.res[k - 1].weight, padding=1)
            g = F.conv_transpose2d(ga, self.lin[k].weight, padding=1)
        ga = g * torch.sigmoid(self.beta * pre[0])
        return grad + F.conv_transpose2d(ga, self.lin[0].weight, padding=1)


patches = torch.from_numpy(np.load(args.patches).astype(np.float32))
if patches.ndim != 4:
    raise SystemExit(f"{args.patches}: expected [N, C, p, p], got {tuple(patches.shape)}")
channels = patches.shape[1]

# The two gradient passes agree (a check that both variants time the same network). Not to
# round-off: torch's softplus is linear above beta*x > 20 (threshold=20), so its autograd
# derivative is 1 there where sigmoid(beta*x) = 1 - 2e-9.
check = FullyConvolutionalLPN(channels, args.hidden, args.layers, args.beta, args.alpha).double()
yc = torch.randn(2, channels, 12, 12, dtype=torch.float64)
diff = (check.prox_autograd(yc, False) - check.prox_explicit(yc)).abs().max().item()
assert diff < 1e-6, f"explicit and autograd prox differ by {diff}"


def train_step(net, opt, variant):
    idx = torch.randint(0, patches.shape[0], (args.batch,))
    x = patches[idx]
    y = x + args.noise * torch.randn_like(x)
    f = net.prox_autograd(y, True) if variant == "autograd" else net.prox_explicit(y)
    loss = (f - x).abs().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    net.clamp()
    return loss.item()


for variant in args.variants.split(","):
    net = FullyConvolutionalLPN(channels, args.hidden, args.layers, args.beta, args.alpha)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    for _ in range(2):
        train_step(net, opt, variant)
    runs = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        for _ in range(5):
            train_step(net, opt, variant)
        runs.append((time.perf_counter() - t0) / 5)
    image = torch.rand(1, channels, args.prox_size, args.prox_size)
    net.eval()

    def prox():
        if variant == "autograd":
            return net.prox_autograd(image, False)
        with torch.no_grad():
            return net.prox_explicit(image)

    prox()
    prox_runs = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        prox()
        prox_runs.append(time.perf_counter() - t0)
    print(json.dumps({
        "tool": f"torch_{variant}", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "train_step_s": statistics.median(runs), "prox_s": statistics.median(prox_runs),
        "params": sum(q.numel() for q in net.parameters()), "batch": args.batch,
        "patch": int(patches.shape[-1]), "prox_size": args.prox_size, "check_max_diff": diff,
    }), flush=True)
