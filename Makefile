# SwiftPDE — every target installs the system packages first (scripts/install-deps).
SWIFT ?= swift
FLAGSHIP ?= data/configs/flagship.yaml
# The package trait MPI (distributed runs under mpirun) whenever Open MPI is installed, as
# scripts/install-deps makes sure; without it the suite builds serial.
TRAITS ?= $(shell pkg-config --exists ompi-c 2>/dev/null && echo --traits MPI)

.PHONY: deps python-deps build run test bench bench-deps clean

deps:
	@scripts/install-deps

# numpy, scipy, h5py, safetensors: the tests compare our files and matrices with theirs.
python-deps:
	@scripts/install-python-deps

build: deps
	$(SWIFT) build -c release $(TRAITS)

# Builds in release and solves the flagship problem (2-D variable-coefficient diffusion,
# 513² nodes); outputs go to out/flagship.{vti,npy,png}.
run: deps
	$(SWIFT) build -c release $(TRAITS) --product pde-solve
	.build/release/pde-solve $(FLAGSHIP)

# Layering check; the example package that depends on this one, with every Swift block of
# README.md and docs/ (built and run; a broken snippet is shown to fail); then the whole
# test suite (debug build), and the distributed suite again under mpirun -np 2.
test: deps python-deps
	python3 scripts/folder-deps.py Sources/PDE > /dev/null || python3 scripts/folder-deps.py Sources/PDE
	python3 scripts/folder-deps.py Sources/Learning > /dev/null || python3 scripts/folder-deps.py Sources/Learning
	python3 scripts/check-doc-comments.py
	python3 scripts/snippets.py selftest
	$(SWIFT) build --package-path Examples
	Examples/.build/debug/plate-example
	Examples/.build/debug/doc-snippets
	$(SWIFT) build --build-tests $(TRAITS)
	$(SWIFT) test --skip-build $(TRAITS)
	scripts/mpi-tests

# The peers of pde-bench (benchmarks/peers): Debian's petsc4py and SuiteSparse, the pinned
# PyPI packages of benchmarks/peers/requirements.txt (PyTorch only with BENCH_TORCH=1),
# then pde-bench in release.
bench-deps: deps
	@scripts/install-bench-deps
	$(SWIFT) build -c release $(TRAITS) --product pde-bench

# Benchmarks (release); see BENCHMARKS.md for the peer scripts run alongside.
bench: deps
	$(SWIFT) build -c release $(TRAITS) --product pde-bench
	.build/release/pde-bench core

clean:
	rm -rf .build out
