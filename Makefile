# pinet_ros: the two commands a new user needs.
#   make demo   the main job on the embedded default (sets up what is missing first)
#   make test   the test suite (sets up what is missing first); .ci/run calls exactly this
SHELL := /bin/bash
PYTEST_ARGS ?=

.PHONY: setup test demo clean
setup:
	scripts/setup.sh

test: setup
	scripts/env.sh pytest -q $(PYTEST_ARGS)

demo: setup
	scripts/env.sh python -m pinet_ros.demo $(DEMO_ARGS)

clean:
	rm -rf build install log
