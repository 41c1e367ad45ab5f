# dysr: `make run` plays the demo clip, `make test` runs the whole test suite.
# Both first install any missing system packages (Debian 12).

# One release profile for everything, in a target folder outside the clone so rebuilds are shared.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/dysr-target

# Without a display (a server, CI) the window opens on a virtual one, plays the demo once, saves a
# screenshot and prints the run's summary.
ifeq ($(DISPLAY)$(WAYLAND_DISPLAY),)
  # Mesa's Vulkan driver complains on every start when there is no session runtime folder.
  RUNTIME_DIR := /tmp/dysr-runtime-$(shell id -u)
  WITH_DISPLAY := mkdir -p -m 700 $(RUNTIME_DIR) && XDG_RUNTIME_DIR=$(RUNTIME_DIR) xvfb-run -a -s "-screen 0 1920x1080x24"
  RUN_ONCE := --exit-after 30 --screenshot $(CARGO_TARGET_DIR)/dysr-run.png
endif

.PHONY: deps build run test fuzz check-features demo-clip bench-deps

deps:
	@scripts/install-system-deps.sh

build: deps
	cargo build --release

run: build
	$(WITH_DISPLAY) $(CARGO_TARGET_DIR)/release/dysr play --stats $(RUN_ONCE) $(ARGS)

test: deps
	cargo test --release

# A longer mutation-fuzzing run than the one in `make test`: FUZZ_CASES per container (default
# 20000: 125,000 cases; the 3,750 of `make test` take about 30 s on two cores) from FUZZ_SEED
# (default: the time, printed with the result).
fuzz: deps
	DYSR_FUZZ_CASES=$(or $(FUZZ_CASES),20000) DYSR_FUZZ_SEED=$(or $(FUZZ_SEED),$(shell date +%s)) cargo test --release --test fuzz

# Fails when a dev-dependency turns on a feature of a crate the binary also uses: then
# `cargo test --release` and `cargo build --release` would each build their own copy of it.
check-features:
	@cargo tree -e features,normal --prefix none -f '{p} {f}' | grep ' v[0-9]' | sed 's/ (\*)//' | sort -u > $(CARGO_TARGET_DIR)/features-normal.txt
	@cargo tree -e features,normal,dev --prefix none -f '{p} {f}' | grep ' v[0-9]' | sed 's/ (\*)//' | sort -u > $(CARGO_TARGET_DIR)/features-dev.txt
	@! awk 'NR == FNR { normal[$$0] = 1; crate[$$1] = 1; next } ($$1 in crate) && !($$0 in normal)' \
		$(CARGO_TARGET_DIR)/features-normal.txt $(CARGO_TARGET_DIR)/features-dev.txt | grep .
	@echo "dev-dependencies add no features to the binary's crates"

# Rebuilds assets/ from the registry source (see assets/README.md).
demo-clip: deps
	scripts/fetch-demo-clip.sh

# ONNX Runtime for the reference column of `dysr bench rungs` (a comparison, not a dependency).
bench-deps:
	python3 -m venv $(HOME)/.cache/dysr-ort
	$(HOME)/.cache/dysr-ort/bin/pip install --quiet onnxruntime onnx numpy
