#!/usr/bin/env python3
"""PyTorch (CPU, float32) inference of a SwiftPDE DCDM network, for `pde-bench dcdm --inference`.

The network is rebuilt in PyTorch from the safetensors file `pde-train dcdm` writes (its
metadata key "dcdm.configuration" gives dimension, channels, block counts and bias; tensor
names are the Swift property paths: stem.weight, lift.weight, fine.0.first.weight, ...,
output.weight, the same [Cout, Cin, K...] layout as torch's Conv2d/Conv3d). The forward pass
is the one of `DCDMNetwork` (Sources/Operators/Models/DCDMNetwork.swift):

  r, mask = x[:, 0:1], x[:, 1:2];  coarse mask = avgpool2(mask)
  (operatorChannel: r = cat(r, r * x[:, 2:3]), the diagonal / (2 dim) in channel 2)
  h = stem(r) * mask;  h = relu(lift(h)) * mask
  fine blocks: h = (h + relu(second(relu(first(h))))) * mask;   skip = h
  c = avgpool2(h); coarse blocks: c = block(c) * coarse mask
  h = (upsample_nearest2(c) + skip) * mask; decoder blocks: h = block(h) * mask
  y = output(h) * mask          (1x1 convolution)

With "multilevel" (recursive pooling with shared weights; tensor levelGain [1, C, 1...]):

  s = stem(r) * mask;  y = output(level(s, mask, depth)) * mask, depth = the halvings while
  every side stays even and >= coarsestSide, where
  level(s, m, k): h = relu(lift(s)) * m; fine blocks (gated by m);
                  k = 0: coarse blocks;  else h = (upsample_linear2(level(avgpool2(s), avgpool2(m), k - 1)) * levelGain + h) * m
                  decoder blocks; return h

For every --inputs file (an NPY [1, 2 or 3, n...] float32 written by pde-bench: residual, fluid
mask and, for operatorChannel networks, the scaled diagonal), the forward pass under torch.inference_mode() is timed --reps times after two
warm-ups (median), and the prediction is written next to the input as <input>.torch.npy so
the caller can compare it with its own.

Output: one JSON object per input and line on stdout: input, tool (pytorch <version>),
threads, shape, seconds (median), min_seconds, reps, output. Without PyTorch every input is
reported as {"input", "tool": "pytorch", "skipped": ...}; the exit status is 0.

  python3 dcdm_peer.py --network runs/dcdm-64/network.safetensors --inputs a.npy,b.npy
"""
import argparse
import json
import statistics
import struct
import sys
import time

import numpy as np


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", required=True, help="network.safetensors written by pde-train dcdm")
    p.add_argument("--inputs", required=True, help="comma-separated NPY inputs [1, 2, n...] (float32)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default: %(default)s)")
    p.add_argument("--reps", type=int, default=10, help="timed runs per input, median reported (default: %(default)s)")
    args = p.parse_args()
    if args.reps < 1 or args.threads < 1:
        p.error("--reps and --threads must be at least 1")
    return args


DTYPES = {"F32": np.float32, "F64": np.float64}


def read_safetensors(path):
    """(tensors by name as float32 arrays, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in DTYPES:
            raise SystemExit(f"dcdm_peer: {path}: tensor {name} has dtype {info['dtype']}, expected F32 or F64")
        s, e = info["data_offsets"]
        a = np.frombuffer(blob[base + s:base + e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = a.astype(np.float32)
    return tensors, meta


def build(torch, tensors, config):
    nn, F = torch.nn, torch.nn.functional
    d, ch, bias = config["dimension"], config["channels"], config.get("bias", False)
    Conv = nn.Conv2d if d == 2 else nn.Conv3d
    pool = F.avg_pool2d if d == 2 else F.avg_pool3d

    def conv(cin, cout, k):
        return Conv(cin, cout, k, padding=k // 2, bias=bias)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second = conv(ch, ch, 3), conv(ch, ch, 3)

        def forward(self, x):
            return x + torch.relu(self.second(torch.relu(self.first(x))))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.lift = conv(2 if config.get("operatorChannel", False) else 1, ch, 3), conv(ch, ch, 3)
            self.fine = nn.ModuleList(Block() for _ in range(config["fineBlocks"]))
            self.coarse = nn.ModuleList(Block() for _ in range(config["coarseBlocks"]))
            self.decoder = nn.ModuleList(Block() for _ in range(config["decoderBlocks"]))
            self.output = conv(ch, 1, 1)
            if config.get("multilevel", False):
                self.levelGain = nn.Parameter(torch.ones([1, ch] + [1] * d))

        def level(self, s, m, depth):
            h = torch.relu(self.lift(s)) * m
            for b in self.fine:
                h = b(h) * m
            if depth == 0:
                for b in self.coarse:
                    h = b(h) * m
            else:
                c = self.level(pool(s, 2), pool(m, 2), depth - 1)
                up = F.interpolate(c, scale_factor=2, mode="bilinear" if d == 2 else "trilinear", align_corners=False)
                h = (up * self.levelGain + h) * m
            for b in self.decoder:
                h = b(h) * m
            return h

        def forward(self, x):
            r, mask = x[:, 0:1], x[:, 1:2]
            cmask = pool(mask, 2)
            if config.get("operatorChannel", False):
                r = torch.cat([r, r * x[:, 2:3]], dim=1)
            h = self.stem(r) * mask
            if config.get("multilevel", False):
                sides, depth, low = list(x.shape[2:]), 0, config.get("coarsestSide", 4)
                while all(n % 2 == 0 and n // 2 >= low for n in sides):
                    sides, depth = [n // 2 for n in sides], depth + 1
                return self.output(self.level(h, mask, depth)) * mask
            h = torch.relu(self.lift(h)) * mask
            for b in self.fine:
                h = b(h) * mask
            skip = h
            c = pool(h, 2)
            for b in self.coarse:
                c = b(c) * cmask
            h = (F.interpolate(c, scale_factor=2, mode="nearest") + skip) * mask
            for b in self.decoder:
                h = b(h) * mask
            return self.output(h) * mask

    net = Net()
    state = net.state_dict()
    missing = sorted(set(state) - set(tensors))
    extra = sorted(set(tensors) - set(state))
    if missing or extra:
        raise SystemExit(f"dcdm_peer: the file's tensors do not match the network: missing {missing}, unexpected {extra}")
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
    return net.eval()


def main():
    args = parse_args()
    inputs = [s for s in args.inputs.split(",") if s]
    try:
        import torch
    except ImportError:
        print("dcdm_peer: PyTorch is not installed (BENCH_TORCH=1 scripts/install-bench-deps); skipped", file=sys.stderr)
        for name in inputs:
            print(json.dumps({"input": name, "tool": "pytorch", "skipped": "PyTorch not installed"}))
        return
    torch.set_num_threads(args.threads)
    tensors, meta = read_safetensors(args.network)
    if "dcdm.configuration" not in meta:
        raise SystemExit(f"dcdm_peer: {args.network} has no 'dcdm.configuration' metadata: not a DCDM network")
    net = build(torch, tensors, json.loads(meta["dcdm.configuration"]))
    for name in inputs:
        x = torch.from_numpy(np.load(name).astype(np.float32))
        times = []
        with torch.inference_mode():
            for i in range(args.reps + 2):
                t0 = time.perf_counter()
                y = net(x)
                t = time.perf_counter() - t0
                if i >= 2:
                    times.append(t)
        out = name[:-4] + ".torch.npy" if name.endswith(".npy") else name + ".torch.npy"
        np.save(out, y.numpy())
        print(json.dumps({"input": name, "tool": f"pytorch {torch.__version__}", "threads": args.threads,
                          "shape": list(x.shape), "seconds": statistics.median(times), "min_seconds": min(times),
                          "reps": args.reps, "output": out}), flush=True)


if __name__ == "__main__":
    main()
