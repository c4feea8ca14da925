#!/usr/bin/env bash
# The main job on one machine: provisions Redis Stack and the embedding model, starts Redis Stack, the
# indexer and the searcher on loopback, loads a real corpus, runs text searches and a more-like-this
# search, and leaves everything running with grpcurl commands to try.
#
#   scripts/demo.sh                  loads 2,000 of the 10,033 Wikipedia summaries (CC BY-SA 4.0), taken
#                                    evenly through the file so that every topic is present
#   scripts/demo.sh --arxiv FILE     loads the first 2,000 papers of an arXiv metadata snapshot (JSON lines)
#   scripts/demo.sh --all ...        loads the whole corpus instead of 2,000 documents
#   scripts/demo.sh --limit N ...    loads N documents
#   scripts/demo.sh stop             stops the services and Redis Stack started here
#
# Ports: DOCSEARCH_INDEXER_PORT (50051), DOCSEARCH_SEARCHER_PORT (50052), DOCSEARCH_REDIS_PORT (6399).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

CACHE_DIR=${DOCSEARCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docsearch}
RUN_DIR=${DOCSEARCH_RUN_DIR:-$CACHE_DIR/run}
INDEXER_PORT=${DOCSEARCH_INDEXER_PORT:-50051}
SEARCHER_PORT=${DOCSEARCH_SEARCHER_PORT:-50052}
INDEXER=127.0.0.1:$INDEXER_PORT
SEARCHER=127.0.0.1:$SEARCHER_PORT
BIN=$ROOT/target/debug

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stop_all() {
  for service in searcher indexer; do
    local pid_file=$RUN_DIR/$service.pid
    if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      kill "$(cat "$pid_file")"
      echo "demo: stopped the $service" >&2
    fi
    rm -f "$pid_file"
  done
  scripts/redis-stack.sh stop
}

# Starts a service binary in the background unless this script already runs it.
start_service() {
  local service=$1 address=$2 redis_url=$3
  local pid_file=$RUN_DIR/$service.pid
  if [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    return
  fi
  if (echo >"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null; then
    echo "demo: $address is already in use; stop what listens there or set DOCSEARCH_${service^^}_PORT" >&2
    exit 1
  fi
  DOCSEARCH__REDIS__URL=$redis_url \
    DOCSEARCH__SERVER__LISTEN_ADDR=$address \
    DOCSEARCH__EMBEDDING__MODEL_DIR=$CACHE_DIR/all-MiniLM-L6-v2 \
    nohup "$BIN/$service" >"$RUN_DIR/$service.log" 2>&1 &
  echo $! >"$pid_file"
}

wait_until_serving() {
  local service=$1 address=$2
  for _ in $(seq 1 300); do
    if grpcurl -plaintext -d '{}' "$address" grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING; then
      return
    fi
    if ! kill -0 "$(cat "$RUN_DIR/$service.pid")" 2>/dev/null; then
      echo "demo: the $service exited; its log:" >&2
      tail -n 30 "$RUN_DIR/$service.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "demo: the $service did not turn SERVING within 60 s; see $RUN_DIR/$service.log" >&2
  exit 1
}

# Writes every k-th record of the Wikipedia summaries (a JSON object keyed by title) to a new file and
# prints its path. The file is grouped by topic, so its first records would all share two topics.
wiki_slice() {
  local count=$1 slice=$CACHE_DIR/wiki/summaries-slice-$1.json
  if [[ ! -f $slice ]]; then
    python3 - "$DOCSEARCH_WIKI_FILE" "$slice" "$count" <<'PY'
import json, sys
source, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source, encoding="utf-8") as file:
    records = list(json.load(file).items())
step = max(1, len(records) // count)
with open(target + ".partial", "w", encoding="utf-8") as file:
    json.dump(dict(records[::step][:count]), file, ensure_ascii=False)
PY
    mv "$slice.partial" "$slice"
  fi
  echo "$slice"
}

# Prints the id of the best hit of a search, from its JSON output.
first_hit_id() {
  python3 -c 'import json, sys; hits = json.load(sys.stdin).get("hits", []); print(hits[0]["id"] if hits else "")'
}

arxiv_file=""
limit=2000
while [[ $# -gt 0 ]]; do
  case $1 in
    stop) stop_all; exit 0 ;;
    --arxiv) arxiv_file=$(realpath "$2"); shift 2 ;;
    --all) limit=""; shift ;;
    --limit) limit=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$1'; see scripts/demo.sh --help" >&2; exit 2 ;;
  esac
done
if [[ -n $limit && ! $limit =~ ^[1-9][0-9]*$ ]]; then
  echo "demo: --limit takes a positive number of documents, not '$limit'" >&2
  exit 2
fi
if [[ -n $arxiv_file && ! -f $arxiv_file ]]; then
  echo "demo: $arxiv_file is not a file" >&2
  exit 2
fi

say "Provisioning Redis Stack, the embedding model, the Wikipedia summaries and grpcurl"
scripts/provision.sh redis model wiki tools
eval "$(scripts/provision.sh env)"

say "Building the services and the CLI"
cargo build --quiet --bin indexer --bin searcher --bin docsearch
export PATH=$BIN:$PATH
export DOCSEARCH_INDEXER=http://$INDEXER DOCSEARCH_SEARCHER=http://$SEARCHER

say "Starting Redis Stack, the indexer ($INDEXER) and the searcher ($SEARCHER)"
mkdir -p "$RUN_DIR"
redis_url=$(scripts/redis-stack.sh start)
echo "Redis Stack: $redis_url"
start_service indexer "$INDEXER" "$redis_url"
start_service searcher "$SEARCHER" "$redis_url"
wait_until_serving indexer "$INDEXER"
wait_until_serving searcher "$SEARCHER"
echo "both services are SERVING; logs in $RUN_DIR"

if [[ -n $arxiv_file ]]; then
  index=arxiv
  say "Loading ${limit:-all} arXiv papers from $arxiv_file (the indexer embeds title and abstract)"
  docsearch index describe "$index" >/dev/null 2>&1 || docsearch index create "$index" --schema schemas/arxiv.json
  limit_args=()
  [[ -n $limit ]] && limit_args=(--limit "$limit")
  docsearch load "$arxiv_file" --index "$index" --format arxiv --resume "${limit_args[@]}" || true
  queries=("neural networks for image classification" "dark matter in galaxy clusters" "entanglement of photons in quantum optics")
  filtered=(--year 2012..2017)
else
  index=wikipedia
  wiki_file=$DOCSEARCH_WIKI_FILE
  [[ -n $limit ]] && wiki_file=$(wiki_slice "$limit")
  say "Loading ${limit:-all} Wikipedia summaries (the indexer embeds title and extract)"
  docsearch index describe "$index" >/dev/null 2>&1 || docsearch index create "$index" --schema schemas/wikipedia.json
  docsearch load "$wiki_file" --index "$index" --format json --mapping schemas/wikipedia.mapping.toml --resume || true
  queries=("films about space travel" "diseases spread by mosquitoes" "ancient greek philosophers")
  filtered=(--tag topic=History)
fi
docsearch index describe "$index"

for query in "${queries[@]}"; do
  say "Search: \"$query\""
  docsearch search "$query" --index "$index" -k 5
done
say "Search with a filter: \"${queries[0]}\" ${filtered[*]}"
docsearch search "${queries[0]}" --index "$index" -k 5 "${filtered[@]}"

similar_to=$(docsearch search "${queries[0]}" --index "$index" -k 1 --json | first_hit_id)
if [[ -n $similar_to ]]; then
  say "More like \"$similar_to\" (the document itself excluded)"
  docsearch search --similar-to "$similar_to" --exclude-self --index "$index" -k 5
fi

say "The services keep running. Try them:"
cat <<TRY
  grpcurl -plaintext $INDEXER list
  grpcurl -plaintext -d '{"name": "$index"}' $INDEXER docsearch.v1.IndexService/DescribeIndex
  grpcurl -plaintext -d '{"index": "$index", "text": "${queries[1]}", "k": 3, "returnFields": ["title"]}' $SEARCHER docsearch.v1.SearchService/Search
  grpcurl -plaintext -d '{"index": "$index", "similarToId": "$similar_to", "excludeSimilarDocument": true, "k": 3}' $SEARCHER docsearch.v1.SearchService/Search
  $BIN/docsearch search "your words" --index $index
Stop everything with: scripts/demo.sh stop
TRY
