#!/usr/bin/env python3
"""Where a denoiser's error lies: the squared error of two reconstructions of one image split
into radial frequency bands and into the image's flat and textured halves (by the local mean
of the clean image's gradient magnitude, 7 x 7). BENCHMARKS.md "lpn": the LPN prior against TV
on rocket and chelsea. Usage:
  benchmarks/lpn-residual-bands.py CLEAN.png A.npy B.npy [--labels lpn,tv]
A.npy and B.npy are pde-invert outputs (formats: [npy]) of the same noisy image."""
import argparse
import numpy as np
from scipy.ndimage import uniform_filter
from skimage import io

p = argparse.ArgumentParser()
p.add_argument("clean"); p.add_argument("a"); p.add_argument("b")
p.add_argument("--labels", default="a,b")
args = p.parse_args()
x = io.imread(args.clean).astype(float) / 255
recs = [np.load(f).reshape(x.shape) for f in (args.a, args.b)]
la, lb = args.labels.split(",")
n0, n1 = x.shape
r = np.hypot(np.fft.fftfreq(n0)[:, None], np.fft.fftfreq(n1)[None, :])
psnr = [-10 * np.log10(np.mean((v - x) ** 2)) for v in recs]
print(f"PSNR {la} {psnr[0]:.2f} dB, {lb} {psnr[1]:.2f} dB")
print(f"| band (cycles/pixel) | {la} MSE share | {lb} MSE share | ratio |")
print("|---|---|---|---|")
spectra = [np.abs(np.fft.fft2(v - x)) ** 2 / (n0 * n1) ** 2 for v in recs]
for lo, hi in [(0, 1 / 32), (1 / 32, 1 / 16), (1 / 16, 1 / 8), (1 / 8, 1 / 4), (1 / 4, 1)]:
    m = (r >= lo) & (r < hi)
    ea, eb = (s[m].sum() for s in spectra)
    print(f"| {lo:.3f}–{hi:.3f} | {ea:.2e} | {eb:.2e} | {ea / eb:.2f} |")
gy, gx = np.gradient(x)
g = uniform_filter(np.hypot(gx, gy), 7)
flat = g < np.quantile(g, 0.5)
for name, mask in [("flat half", flat), ("textured half", ~flat)]:
    ea, eb = (np.mean((v - x)[mask] ** 2) for v in recs)
    print(f"{name}: MSE {la} {ea:.2e}, {lb} {eb:.2e}, ratio {ea / eb:.2f}")
