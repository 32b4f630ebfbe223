#!/usr/bin/env bash
# Starts a local agentlb cluster (three management servers, six agents) in
# ./run/ — see README.md. Until the daemons exist it says so and exits.
set -euo pipefail
echo "agentlb quickstart: not yet available (the daemons are still being built); run tools/test.sh" >&2
exit 1
