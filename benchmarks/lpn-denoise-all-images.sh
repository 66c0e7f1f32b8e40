#!/bin/bash
# Denoising (σ = 0.1, noise seed 0) of every bundled image, training and held-out, by one pass
# of a learned proximal network against TV (Chambolle–Pock, 300 iterations) at its best λ of a
# grid (BENCHMARKS.md "lpn": the generalization gap of the image priors). Usage:
#   benchmarks/lpn-denoise-all-images.sh runs/lpn-images-h64/model.safetensors [more models]
# Needs `swift build -c release --product pde-invert`; writes its configs to $OUT
# (default /tmp/swiftpde-lpn-denoise).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 MODEL.safetensors [MODEL ...]" >&2; exit 2; }
for m in "$@"; do [ -f "$m" ] || { echo "$0: model '$m' not found" >&2; exit 2; }; done
OUT=${OUT:-/tmp/swiftpde-lpn-denoise}
mkdir -p "$OUT"
INV=.build/release/pde-invert
ROOT=$(pwd)
LAMBDAS="0.03 0.04 0.05 0.07 0.09 0.11 0.13"
psnr() { "$INV" "$1" 2>&1 | sed -n -E 's/^(pdhg|pnp-pgd): PSNR ([0-9.]+) dB.*/\2/p'; }
config() {  # image, name, algorithm
  printf 'task: denoise\nimage: {source: %s/data/images/%s.png}\nnoise: {sigma: 0.1, seed: 0}\nalgorithm: %s\noutput: {directory: %s/out, name: %s, formats: []}\n' \
    "$ROOT" "$1" "$3" "$OUT" "$2" > "$OUT/$2.yaml"
  echo "$OUT/$2.yaml"
}
header="| image | set | TV (λ)"
for m in "$@"; do header="$header | $(basename "$(dirname "$m")") | − TV"; done
echo "$header |"
for img in brick cell coins grass gravel hubble_deep_field retina text chelsea coffee rocket; do
  case $img in chelsea|coffee|rocket) set_name=held-out ;; *) set_name=training ;; esac
  best=0; bestl=
  for l in $LAMBDAS; do
    p=$(psnr "$(config "$img" "tv-$img-$l" "{name: pdhg, prior: tv, lambda: $l, iterations: 300, tolerance: 0}")")
    if awk -v a="$p" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$p; bestl=$l; fi
  done
  row="| $img | $set_name | $best ($bestl)"
  for m in "$@"; do
    p=$(psnr "$(config "$img" "lpn-$img" "{name: pnp-pgd, prior: lpn, model: $(realpath "$m"), iterations: 1, tolerance: 0}")")
    row="$row | $p | $(awk -v a="$p" -v b="$best" 'BEGIN { printf "%+.2f", a - b }')"
  done
  echo "$row |"
done
