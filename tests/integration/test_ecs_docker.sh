#!/usr/bin/env bash
# tests/integration/test_ecs_docker.sh - test_ecs.sh's whole suite with the
# docker driver against a real dockerd (see test_ecs.sh and dockerd.sh).
ECS_DRIVER=docker exec bash "$(dirname "$0")/test_ecs.sh"
