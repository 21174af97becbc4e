#!/usr/bin/env bash
# tests/integration/test_make_run_docker.sh - test_make_run.sh with a real
# Docker engine answering on the socket run-dev.sh looks at (see there).
MR_DRIVER=docker exec bash "$(dirname "$0")/test_make_run.sh"
