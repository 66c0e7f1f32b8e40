"""neuraloperator FNO (2D) training peer: seconds per epoch and test relative L2.

Data: --x/--y .npy files (or --npz with arrays 'x' and 'y'), shapes [N, s, s]
(coefficient a -> solution u).  Without data, a synthetic Darcy-like stand-in is
generated (for timing; NOT the FNO paper's data set):
  psi ~ GRF on the periodic unit square, spectrum (4 pi^2 |k|^2 + 9)^-2 (via FFT),
  a = 12 where psi >= 0 else 3, and u solves -div(a grad u) = 1, u = 0 on the
  boundary, on the s x s interior nodes (5-point finite volumes, face coefficient
  = mean of the two nodes, scipy spsolve).
Model/training as the FNO paper's Darcy setup: modes 12, width 32, 4 layers.
CAUTION: the paper's "modes 12" keeps frequencies -12..11 x 0..11, whereas
neuraloperator's n_modes counts the kept band around 0 (n_modes[-1]//2+1 on the
rfft axis), so --modes 12 is passed as FNO(n_modes=(24, 24)) -> weights
(32, 32, 24, 13), ~2.6M real parameters (paper: ~2.4M).  Other settings are
neuraloperator's defaults (grid positional embedding, lifting/projection MLPs of
width 2*32); no learning-rate schedule.  Adam lr 1e-3,
batch 20, loss = batch mean of per-sample relative L2, point-wise Gaussian
normalisation of inputs and targets (fitted on the training set).
Prints one JSON object: sec_per_epoch (median over epochs), test rel_l2, and (SwiftPDE's
copy of ../shared/peers/fno_peer.py) infer_samples_per_s: test-set predictions per second
without gradients, median of 3 passes in batches of --batch.

  pip install torch neuraloperator
  python3 fno_peer.py --threads 2                      # N_train=200, s=64, 10 epochs
  python3 fno_peer.py --npz darcy.npz --epochs 100 --n-train 1000 --n-test 100
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--x"), p.add_argument("--y"), p.add_argument("--npz")
p.add_argument("--s", type=int, default=64, help="grid size of the synthetic data")
p.add_argument("--n-train", type=int, default=200)
p.add_argument("--n-test", type=int, default=50)
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--batch", type=int, default=20)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--modes", type=int, default=12)
p.add_argument("--width", type=int, default=32)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--threads", type=int, help="torch.set_num_threads (default: leave as is)")
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()


def darcy_sample(s, rng):
    k = np.fft.fftfreq(s, d=1.0 / s)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    psi = np.fft.ifft2(rng.standard_normal((s, s)) / (4 * np.pi**2 * k2 + 9.0)).real
    a = np.where(psi >= 0, 12.0, 3.0)
    h = 1.0 / (s + 1)
    ap = np.pad(a, 1, mode="edge")
    ax = 0.5 * (ap[1:-1, :-1] + ap[1:-1, 1:])  # faces between columns, (s, s+1)
    ay = 0.5 * (ap[:-1, 1:-1] + ap[1:, 1:-1])  # faces between rows,    (s+1, s)
    idx = np.arange(s * s).reshape(s, s)
    diag = (ax[:, :-1] + ax[:, 1:] + ay[:-1, :] + ay[1:, :]).ravel()
    r = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    c = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    v = -np.concatenate([ax[:, 1:-1].ravel(), ay[1:-1, :].ravel()])
    A = sp.coo_matrix((np.concatenate([diag, v, v]), (np.concatenate([idx.ravel(), r, c]),
                      np.concatenate([idx.ravel(), c, r]))), shape=(s * s, s * s)).tocsc() / h**2
    return a, sla.spsolve(A, np.ones(s * s)).reshape(s, s)


def load_data():
    if args.npz:
        d = np.load(args.npz)
        return d["x"], d["y"], "npz"
    if args.x:
        return np.load(args.x), np.load(args.y), "npy"
    rng = np.random.default_rng(args.seed)
    pairs = [darcy_sample(args.s, rng) for _ in range(args.n_train + args.n_test)]
    return np.stack([q[0] for q in pairs]), np.stack([q[1] for q in pairs]), "synthetic-darcy"


def main():
    t0 = time.perf_counter()
    X, Y, source = load_data()
    gen_s = time.perf_counter() - t0
    import torch
    from neuralop.models import FNO
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    X = torch.tensor(X, dtype=torch.float32).unsqueeze(1)  # [N, 1, s, s]
    Y = torch.tensor(Y, dtype=torch.float32).unsqueeze(1)
    ntr, nte = args.n_train, args.n_test
    xtr, ytr, xte, yte = X[:ntr], Y[:ntr], X[ntr:ntr + nte], Y[ntr:ntr + nte]
    xm, xs = xtr.mean(0), xtr.std(0) + 1e-6  # point-wise Gaussian normalisers
    ym, ys = ytr.mean(0), ytr.std(0) + 1e-6
    model = FNO(n_modes=(2 * args.modes, 2 * args.modes), in_channels=1, out_channels=1,
                hidden_channels=args.width, n_layers=args.layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    def rel_l2(pred, y):
        return (torch.linalg.vector_norm(pred - y, dim=(1, 2, 3)) / torch.linalg.vector_norm(y, dim=(1, 2, 3)))

    epoch_s = []
    for _ in range(args.epochs):
        model.train()
        t = time.perf_counter()
        perm = torch.randperm(ntr)
        for i in range(0, ntr, args.batch):
            b = perm[i:i + args.batch]
            opt.zero_grad()
            loss = rel_l2(model((xtr[b] - xm) / xs) * ys + ym, ytr[b]).mean()
            loss.backward()
            opt.step()
        epoch_s.append(time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        test = float(rel_l2(model((xte - xm) / xs) * ys + ym, yte).mean())
        train = float(rel_l2(model((xtr - xm) / xs) * ys + ym, ytr).mean())
        passes = []
        for _ in range(3):
            t = time.perf_counter()
            for i in range(0, xte.shape[0], args.batch):
                model((xte[i:i + args.batch] - xm) / xs) * ys + ym
            passes.append(time.perf_counter() - t)
        infer = xte.shape[0] / float(np.median(passes))
    print(json.dumps({"case": f"fno2d_{source}_s{X.shape[-1]}", "tool": "neuraloperator.FNO",
                      "n": X.shape[-1], "n_train": ntr, "n_test": xte.shape[0], "epochs": args.epochs,
                      "iterations": args.epochs * -(-ntr // args.batch), "seconds": float(sum(epoch_s)),
                      "sec_per_epoch": float(np.median(epoch_s)), "first_epoch_s": epoch_s[0],
                      "rel_l2": test, "train_rel_l2": train, "infer_samples_per_s": infer, "data_seconds": gen_s,
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "real_params": sum(q.numel() * (2 if q.is_complex() else 1) for q in model.parameters()),
                      "config": {"modes": args.modes, "neuralop_n_modes": [2 * args.modes] * 2, "width": args.width, "layers": args.layers,
                                 "batch": args.batch, "lr": args.lr, "optimizer": "Adam"}}))


if __name__ == "__main__":
    main()
