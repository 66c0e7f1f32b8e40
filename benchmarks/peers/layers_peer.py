#!/usr/bin/env python3
"""PyTorch (CPU, float32) forward + backward time of the layers of `pde-bench learning`.

Cases (NCHW inputs, same shapes and layer definitions as SwiftPDE's LearningSuite):

  conv3x3   Conv2d 16 -> 16 channels, 3 x 3 kernel, padding 1, bias, on [8, 16, 128, 128]
  dcdm2d    Conv2d 16 -> 16, 3 x 3, padding 1, no bias, on [10, 16, 64, 64] (a DCDM training batch)
  dcdm3d    Conv3d 16 -> 16, 3 x 3 x 3, padding 1, no bias, on [2, 16, 32, 32, 32] (DCDM in 3-D)
  spectral  2-D spectral convolution, 32 -> 32 channels, 12 x 12 modes, on [20, 32, 64, 64]:
            rfft2; the kept modes are the 12 lowest non-negative and 12 negative frequencies
            along the first axis times the 12 lowest along the half (rfft) axis; one complex
            weight [32, 32, 24, 12] mixes the channels per mode (initialized U(0, 1)/(32*32)
            in both parts); the other modes are zero; irfft2 back to 64 x 64
  fno4      4 Fourier blocks of width 32, 12 x 12 modes, on [20, 32, 64, 64]: each block is
            spectral(x) + Conv2d 1x1 (bias)(x), GELU between blocks, none after the last
  lsm       the whole Latent Spectral Model of data/configs/train-lsm-darcy.yaml (SwiftPDE's
            `LSM`: width 32, 12 basis functions, 4 tokens, 8 heads, 6 x 6 patches, 4
            down-samplings, projection 128; batch normalization in training mode) on a
            training batch [20, 1, 85, 85]; written here from SwiftPDE's definition

Each case: the loss sum(layer(x)) is computed and back-propagated (gradients for the input
and every parameter) --reps times after two warm-up runs; the median wall time is
reported. torch.manual_seed(0) makes the weights and inputs the same on every run.

Output: one JSON object per case and line on stdout: case, tool (pytorch <version>),
threads, shape, seconds (median), min_seconds, reps. Without PyTorch (install it with
`BENCH_TORCH=1 scripts/install-bench-deps`) every case is reported as
{"case", "tool": "pytorch", "skipped": ...} and a note goes to stderr; the exit status is 0.

  python3 layers_peer.py --threads 2 --reps 10
  python3 layers_peer.py --cases conv3x3
"""
import argparse
import json
import statistics
import sys
import time

CASES = ("conv3x3", "spectral", "fno4", "dcdm2d", "dcdm3d", "lsm")
SHAPES = {"conv3x3": (8, 16, 128, 128), "spectral": (20, 32, 64, 64), "fno4": (20, 32, 64, 64),
          "dcdm2d": (10, 16, 64, 64), "dcdm3d": (2, 16, 32, 32, 32), "lsm": (20, 1, 85, 85)}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default: %(default)s)")
    p.add_argument("--reps", type=int, default=10, help="timed runs per case, median reported (default: %(default)s)")
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated cases (default: %(default)s)")
    args = p.parse_args()
    unknown = [c for c in args.cases.split(",") if c not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}: expected some of {', '.join(CASES)}")
    if args.reps < 1 or args.threads < 1:
        p.error("--reps and --threads must be at least 1")
    return args


def build_modules(torch):
    """The layer classes, defined once torch is known to be importable."""
    nn = torch.nn

    class SpectralConv2d(nn.Module):
        """Low-mode complex channel mixing in Fourier space (the FNO spectral convolution)."""

        def __init__(self, channels_in, channels_out, modes):
            super().__init__()
            self.modes = modes
            scale = 1.0 / (channels_in * channels_out)
            self.weight = nn.Parameter(scale * torch.rand(channels_in, channels_out, 2 * modes, modes, dtype=torch.cfloat))

        def forward(self, x):
            batch, _, rows, cols = x.shape
            m = self.modes
            spectrum = torch.fft.rfft2(x)
            low = torch.cat((spectrum[:, :, :m, :m], spectrum[:, :, -m:, :m]), dim=2)
            mixed = torch.einsum("bixy,ioxy->boxy", low, self.weight)
            out = torch.zeros(batch, self.weight.shape[1], rows, cols // 2 + 1, dtype=torch.cfloat, device=x.device)
            out[:, :, :m, :m] = mixed[:, :, :m]
            out[:, :, -m:, :m] = mixed[:, :, m:]
            return torch.fft.irfft2(out, s=(rows, cols))

    class FourierBlocks(nn.Module):
        """`layers` blocks x <- spectral(x) + pointwise(x), GELU between blocks."""

        def __init__(self, width, modes, layers):
            super().__init__()
            self.spectral = nn.ModuleList(SpectralConv2d(width, width, modes) for _ in range(layers))
            self.pointwise = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(layers))

        def forward(self, x):
            last = len(self.spectral) - 1
            for i, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise)):
                x = spectral(x) + pointwise(x)
                if i < last:
                    x = nn.functional.gelu(x)
            return x

    class DoubleConv(nn.Module):
        """(3 x 3 conv without bias, batch norm, ReLU) twice."""

        def __init__(self, cin, cout, mid=None):
            super().__init__()
            mid = mid or cout
            self.body = nn.Sequential(nn.Conv2d(cin, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                                      nn.Conv2d(mid, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        def forward(self, x):
            return self.body(x)

    class SpectralBlock(nn.Module):
        """Patches attend to latent tokens, a sine/cosine map per channel, attention back."""

        def __init__(self, width, basis, tokens, heads, patch):
            super().__init__()
            self.heads, self.patch, self.basis = heads, patch, basis
            self.latent = nn.Parameter(torch.rand(heads, tokens, width // heads) / width)
            self.weights = nn.Parameter(torch.rand(width, 2 * basis) / width)
            self.encoder = nn.Conv2d(width, 2 * width, 1)
            self.decoder = nn.Conv2d(width, width, 1)
            self.register_buffer("frequencies", torch.arange(basis, dtype=torch.float32) / basis * torch.pi)

        def forward(self, x):
            b, c, h, w = x.shape
            p, heads = self.patch, self.heads
            hp, wp, length, d = h // p, w // p, p * p, c // heads
            count = b * hp * wp
            patches = x.reshape(b, c, hp, p, wp, p).permute(0, 2, 4, 1, 3, 5).reshape(count, c, p, p)
            kv = self.encoder(patches).reshape(count, 2 * c, length).permute(0, 2, 1).reshape(count, length, heads, d, 2)
            kv = kv.permute(4, 0, 2, 1, 3)
            keys, values = kv[0], kv[1]
            queries = self.latent.unsqueeze(0).expand(count, -1, -1, -1)
            attn = torch.softmax(queries @ keys.transpose(-1, -2), dim=-1)
            tokens = attn @ values + queries
            z = tokens.permute(0, 1, 3, 2).reshape(count, c, -1, 1)
            angle = z * self.frequencies
            expansion = torch.cat((torch.sin(angle), torch.cos(angle)), dim=3)
            mapped = (expansion * self.weights.reshape(c, 1, -1)).sum(dim=3) + z.reshape(count, c, -1)
            token_kv = mapped.reshape(count, heads, d, -1).permute(0, 1, 3, 2)
            pixel_q = self.decoder(patches).reshape(count, c, length).permute(0, 2, 1).reshape(count, length, heads, d).permute(0, 2, 1, 3)
            back = torch.softmax(pixel_q @ token_kv.transpose(-1, -2), dim=-1) @ token_kv
            pixels = back.permute(0, 1, 3, 2).reshape(count, c, p, p) + patches
            return pixels.reshape(b, hp, wp, c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)

    class LSM(nn.Module):
        """U-Net of DoubleConvs with a spectral block on every skip and the bottleneck."""

        def __init__(self, width=32, basis=12, tokens=4, heads=8, patch=6, levels=4, projection=128):
            super().__init__()
            ch = lambda level: width * min(1 << level, 8)
            self.levels, self.unit = levels, patch << levels
            self.lifting = nn.Conv2d(3, width, 1)
            self.encoder = nn.ModuleList([DoubleConv(width, width)] + [DoubleConv(ch(l - 1), ch(l)) for l in range(1, levels + 1)])
            self.blocks = nn.ModuleList(SpectralBlock(ch(l), basis, tokens, heads, patch) for l in range(levels + 1))
            dec = []
            for level in range(levels, 0, -1):
                inputs = ch(level - 1) + (ch(level) if level == levels else ch(level - 1))
                dec.append(DoubleConv(inputs, ch(level - 2) if level >= 2 else width, inputs // 2))
            self.decoder = nn.ModuleList(dec)
            self.out = nn.Conv2d(width, width, 1)
            self.projection = nn.Conv2d(width, projection, 1)
            self.output = nn.Conv2d(projection, 1, 1)

        def forward(self, x):
            b, _, h, w = x.shape
            gy = torch.linspace(0, 1, h).reshape(1, 1, h, 1).expand(b, 1, h, w)
            gx = torch.linspace(0, 1, w).reshape(1, 1, 1, w).expand(b, 1, h, w)
            v = self.lifting(torch.cat((x, gy, gx), dim=1))
            ph, pw = -h % self.unit, -w % self.unit
            v = nn.functional.pad(v, (0, pw, 0, ph))
            skips = []
            for level, e in enumerate(self.encoder):
                if level > 0:
                    v = nn.functional.max_pool2d(v, 2)
                v = e(v)
                skips.append(self.blocks[level](v))
            u = skips[-1]
            for i, d in enumerate(self.decoder):
                skip = skips[self.levels - 1 - i]
                u = nn.functional.interpolate(u, size=skip.shape[2:], mode="bilinear", align_corners=False)
                u = d(torch.cat((skip, u), dim=1))
            u = self.out(u)[:, :, :h, :w]
            return self.output(nn.functional.gelu(self.projection(u)))

    return {
        "lsm": lambda: LSM(),
        "conv3x3": lambda: nn.Conv2d(16, 16, 3, padding=1),
        "spectral": lambda: SpectralConv2d(32, 32, 12),
        "fno4": lambda: FourierBlocks(32, 12, 4),
        "dcdm2d": lambda: nn.Conv2d(16, 16, 3, padding=1, bias=False),
        "dcdm3d": lambda: nn.Conv3d(16, 16, 3, padding=1, bias=False),
    }


def time_case(torch, module, shape, reps):
    """Wall seconds of forward + backward of sum(module(x)), two warm-ups then `reps` runs."""
    x = torch.randn(*shape, requires_grad=True)
    times = []
    for run in range(reps + 2):
        module.zero_grad(set_to_none=True)
        x.grad = None
        t0 = time.perf_counter()
        module(x).sum().backward()
        elapsed = time.perf_counter() - t0
        if run >= 2:
            times.append(elapsed)
    return times


def main():
    args = parse_args()
    cases = args.cases.split(",")
    try:
        import torch
    except ImportError:
        reason = "PyTorch not installed (BENCH_TORCH=1 scripts/install-bench-deps)"
        print(f"layers_peer.py: skipped: {reason}", file=sys.stderr)
        for case in cases:
            print(json.dumps({"case": case, "tool": "pytorch", "skipped": reason}), flush=True)
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    factories = build_modules(torch)
    for case in cases:
        times = time_case(torch, factories[case](), SHAPES[case], args.reps)
        print(json.dumps({"case": case, "tool": f"pytorch {torch.__version__}", "threads": args.threads,
                          "shape": list(SHAPES[case]), "seconds": statistics.median(times), "min_seconds": min(times),
                          "reps": args.reps}), flush=True)


if __name__ == "__main__":
    main()
