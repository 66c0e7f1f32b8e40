#!/bin/bash
# The apps under mpirun (issue 15, BENCHMARKS.md "mpi"): pde-datagen with the samples split
# across ranks, data-parallel pde-train fit, and pde-solve's assembly by rows. Runs np = 1 with
# 1 and 2 threads and np = 2 with 1 thread each; writes to $OUT (default /tmp/swiftpde-mpi-apps).
# Needs `swift build -c release --traits MPI` and out/darcy_r421.h5 (pde-datagen data/configs/datagen-darcy.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/swiftpde-mpi-apps}
mkdir -p "$OUT"
M="mpirun --oversubscribe --allow-run-as-root --mca btl self,vader"
now() { date +%s.%N; }
for spec in "1 1" "1 2" "2 1"; do
  set -- $spec; np=$1; th=$2; tag=np${np}t${th}
  bind="--bind-to core"; [ "$th" = 2 ] && bind="--bind-to none"
  sed -e 's/samples: 1200/samples: 48/' -e "s#out/darcy_r421.h5#$OUT/darcy_$tag.h5#" \
    data/configs/datagen-darcy.yaml > "$OUT/datagen-$tag.yaml"
  sed -e 's/train: 1000, validation: 0, test: 100/train: 400, validation: 0, test: 40/' \
    -e "s#runs/fno-darcy#$OUT/fno-$tag#" -e 's/epochs: 500/epochs: 3/' \
    data/configs/train-fno-darcy.yaml > "$OUT/train-$tag.yaml"
  rm -rf "$OUT/fno-$tag" "$OUT/darcy_$tag.h5"
  s=$(now); $M $bind -np $np -x SWIFTPDE_THREADS=$th .build/release/pde-datagen "$OUT/datagen-$tag.yaml" > "$OUT/datagen-$tag.log" 2>&1; e=$(now)
  echo "datagen $tag $(echo "$e - $s" | bc) s"
  $M $bind -np $np -x SWIFTPDE_THREADS=$th .build/release/pde-train fit "$OUT/train-$tag.yaml" > "$OUT/train-$tag.log" 2>&1
  echo "train $tag: $(grep -E '^epoch 3/' "$OUT/train-$tag.log")"
done
cat > "$OUT/grid.yaml" <<YAML
problem: diffusion2d-variable
grid: {nodes: [2049, 2049]}
solver: {method: cg, preconditioner: jacobi, max_iterations: 20}
output: {directory: $OUT/solve, name: g, formats: []}
YAML
cat > "$OUT/mesh.yaml" <<YAML
problem: disk-variable
mesh: {generate: disk, resolution: 600}
solver: {method: cg, preconditioner: jacobi, max_iterations: 20}
output: {directory: $OUT/solve, name: m, formats: []}
YAML
for np in 1 2; do
  for c in grid mesh; do
    echo "pde-solve $c np=$np: $($M --bind-to core -np $np .build/release/pde-solve "$OUT/$c.yaml" 2>&1 | grep -E '^system' | sort -u)"
  done
done
