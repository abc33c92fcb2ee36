# Every target sets itself up: a venv in .venv with the pinned CPU torch, the core and every plugin
# of the repo installed editable. `make test` is what CI runs (.ci/run).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: setup demo test lint bench docs dist clean

setup: $(STAMP)

NODEPS_FILES := $(wildcard plugins/*/requirements-nodeps.txt)

$(STAMP): constraints.txt core/pyproject.toml $(addsuffix /pyproject.toml,$(PLUGIN_DIRS)) $(NODEPS_FILES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: a package that merely requires torch would otherwise pull a CUDA build.
	$(PIP) torch==2.13.0
	# zoo-detection requires zoo-vision: pip 23 finds no zoo-vision for it when the local plugin comes later in
	# the same command (the index has none), so the plugins other plugins build on go in first.
	$(PIP) -e core -e plugins/vision
	$(PIP) -e "core[explain,test]" $(foreach dir,$(PLUGIN_DIRS),-e "$(dir)[test]") ruff mkdocs scipy scikit-learn \
		opencv-python-headless build twine
	# These declare torchvision/torchaudio, which would replace the CPU torch; their runtime needs
	# are installed above (spikingjelly: loguru; grad-cam, the explainer parity reference: opencv, sklearn, ttach).
	# A plugin lists such packages in its requirements-nodeps.txt.
	$(PIP) --no-deps spikingjelly==2.0.0 grad-cam==1.5.7 ttach==0.0.3 "loguru>=0.7,<1" \
		$(foreach file,$(NODEPS_FILES),-r $(file))
	# zoo-detection: mmcv's compiled ops (NMS, RoIAlign, ...) exist on PyPI only as an sdist. It is built
	# against the pinned torch (hence no build isolation; its setup.py needs setuptools' pkg_resources,
	# gone in 82), with the flags measured in docs/architecture.md: ~10 min of 2 cores once, after which
	# pip reuses the wheel it cached.
	$(PIP) wheel ninja
	MMCV_WITH_OPS=1 MAX_JOBS=2 CFLAGS="-g0 -O1" $(PIP) --no-deps --no-build-isolation mmcv==2.1.0
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/tour.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# An sdist and a wheel of every distribution (core, each plugin, the umbrella) into dist/, checked by twine.
# The version of all of them is the one in VERSION. Releasing: docs/releasing.md.
DISTRIBUTIONS := core $(PLUGIN_DIRS) zoo

dist: $(STAMP)
	rm -rf dist
	for project in $(DISTRIBUTIONS); do \
		$(BIN)/python -m build --no-isolation --sdist --wheel --outdir dist $$project > build.log 2>&1 \
			|| { cat build.log; exit 1; }; \
		rm -rf $$project/build; \
	done
	rm -f build.log
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) site dist
