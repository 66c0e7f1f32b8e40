"""Exports a neuraloperator FNO for the weight-loading parity test of SwiftPDE.

Builds FNO(n_modes, in_channels=1, out_channels=1, hidden_channels, n_layers) with every
other argument at neuraloperator's default (seeded, randomly initialized; the spectral
biases drawn too), saves its state_dict as safetensors (complex weights as
torch.view_as_real F32 tensors, `_metadata` dropped), an input batch x [2, 1, H, W] and the
model's output y as .npy files:

  python3 neuraloperator_export.py --out DIR [--n-modes 24 24] [--hidden 32] [--layers 4] [--size 64 48]

Prints one JSON line: the files, the versions, the parameter count.
"""
import argparse
import json
import os

import numpy as np
import torch
from neuralop.models import FNO
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--n-modes", type=int, nargs="+", default=[24, 24])
p.add_argument("--hidden", type=int, default=32)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--size", type=int, nargs="+", default=[64, 48])
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

torch.manual_seed(a.seed)
torch.set_num_threads(1)
model = FNO(n_modes=tuple(a.n_modes), in_channels=1, out_channels=1, hidden_channels=a.hidden, n_layers=a.layers)
with torch.no_grad():
    for name, t in model.named_parameters():
        if name.endswith(".bias") and "convs" in name:
            t.copy_(0.1 * torch.randn_like(t))          # the spectral biases start at ~0: give them values
model.eval()
state = {}
for k, v in model.state_dict().items():
    if not isinstance(v, torch.Tensor):
        continue
    state[k] = (torch.view_as_real(v) if v.is_complex() else v).contiguous().float()
os.makedirs(a.out, exist_ok=True)
save_file(state, os.path.join(a.out, "fno.safetensors"))
x = torch.randn(2, 1, *a.size)
with torch.no_grad():
    y = model(x)
np.save(os.path.join(a.out, "x.npy"), x.numpy().astype(np.float32))
np.save(os.path.join(a.out, "y.npy"), y.numpy().astype(np.float32))
import neuralop
print(json.dumps({"weights": os.path.join(a.out, "fno.safetensors"), "torch": torch.__version__, "neuralop": neuralop.__version__,
                  "parameters": sum(t.numel() * (2 if t.is_complex() else 1) for t in model.parameters())}))
