#!/usr/bin/env bash
# Runs every test: provisions what the tests need (Redis Stack, the embedding model, grpcurl, the
# Kubernetes validators), runs the workspace tests against the real components, then validates deploy/.
# Tests that need the arXiv sample read it from DOCSEARCH_ARXIV_SAMPLE and skip, saying so, without it.
# Extra arguments go to `cargo test`, e.g. scripts/test.sh -p docsearch-e2e --test knn.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

scripts/provision.sh redis model tools wiki
eval "$(scripts/provision.sh env)"

# Every provisioned component must be present: a missing one fails its test instead of skipping it.
export DOCSEARCH_REQUIRE_ALL=1
if [[ -z ${DOCSEARCH_ARXIV_SAMPLE:-} ]]; then
  for candidate in "$ROOT/../shared/data/arxiv/arxiv-sample.jsonl" "$ROOT/../../shared/data/arxiv/arxiv-sample.jsonl"; do
    if [[ -f $candidate ]]; then
      DOCSEARCH_ARXIV_SAMPLE=$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")
      export DOCSEARCH_ARXIV_SAMPLE
      break
    fi
  done
fi
echo "test: arXiv sample: ${DOCSEARCH_ARXIV_SAMPLE:-not found; the tests that need it will skip}" >&2

cargo test --workspace "$@"
if [[ $# -eq 0 ]]; then
  deploy/validate.sh
fi
