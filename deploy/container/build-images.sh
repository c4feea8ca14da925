#!/usr/bin/env bash
# Builds the images docsearch/indexer, docsearch/searcher and docsearch/embedding-model with buildah,
# into the local container storage, in three steps:
#   1. cargo build --release of the indexer and searcher binaries.
#   2. One root filesystem per image under TARGET_DIR/container-context. A service's contains the
#      binary, every shared library that ldd resolves for it, /etc/passwd, /etc/group and
#      /etc/nsswitch.conf. The model's contains the all-MiniLM-L6-v2 files under /model and a static
#      busybox.
#   3. buildah build of each target in Containerfile.
# Usage: deploy/container/build-images.sh [TAG]
#   TAG                  tag of the service images (default: the workspace version, such as 0.1.0)
# Environment:
#   IMAGE_PREFIX         repository prefix of the image names (default: docsearch)
#   DOCSEARCH_MODEL_DIR  the all-MiniLM-L6-v2 directory (default: the one that
#                        `scripts/provision.sh model` fills)
#   BUSYBOX              a statically linked busybox (default: /bin/busybox from the Debian package
#                        busybox-static)
# Requires buildah (Debian package buildah), cargo, ldd and python3.
set -euo pipefail

readonly MODEL_TAG=all-minilm-l6-v2
# The files that docsearch-embed requires in a model directory.
readonly MODEL_FILES=(model.safetensors tokenizer.json config.json sentence_bert_config.json 1_Pooling/config.json)

log() { printf 'build-images: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

container_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$container_dir/../.." && pwd)
cache_dir=${DOCSEARCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docsearch}
model_dir=${DOCSEARCH_MODEL_DIR:-$cache_dir/all-MiniLM-L6-v2}
busybox=${BUSYBOX:-/bin/busybox}
prefix=${IMAGE_PREFIX:-docsearch}

for tool in buildah cargo ldd python3; do
  command -v "$tool" >/dev/null || fail "$tool not found on PATH; install it (buildah: apt-get install -y buildah)"
done
for file in "${MODEL_FILES[@]}"; do
  [[ -f $model_dir/$file ]] || fail "$model_dir/$file not found; run scripts/provision.sh model or set DOCSEARCH_MODEL_DIR"
done
[[ -x $busybox ]] || fail "$busybox not found; apt-get install -y busybox-static or set BUSYBOX"
if ldd "$busybox" >/dev/null 2>&1; then
  fail "$busybox is dynamically linked, but the model image has no libraries; use busybox-static"
fi

cd "$repo_dir"
pkgid=$(cargo pkgid -p docsearch-indexer)
version=${pkgid##*[#@]}
tag=${1:-$version}
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
context=$target_dir/container-context

log "building the release binaries"
cargo build --release --locked --bin indexer --bin searcher

# Fills $2 with the binary $1 at /usr/local/bin and each shared library it loads at the path that ldd
# resolves, so that the dynamic loader finds them without /etc/ld.so.cache.
assemble_service_rootfs() {
  local binary=$1 rootfs=$2 libraries
  if ! libraries=$(ldd "$binary" 2>&1); then
    # ldd exits non-zero for a statically linked binary, which needs no libraries.
    [[ $libraries == *"not a dynamic executable"* ]] || fail "ldd $binary failed: $libraries"
    libraries=
  fi
  if [[ $libraries == *"not found"* ]]; then
    fail "ldd cannot resolve every library of $binary: $libraries"
  fi

  rm -rf "$rootfs"
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc"
  install -m 0755 "$binary" "$rootfs/usr/local/bin/"
  local library
  # ldd prints "name => /path (address)" for a library and "/path (address)" for the dynamic loader.
  while read -r library; do
    mkdir -p "$rootfs$(dirname "$library")"
    cp -L "$library" "$rootfs$library"
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libraries")

  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
}

assemble_model_rootfs() {
  local rootfs=$1
  rm -rf "$rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/model"
  install -m 0755 "$busybox" "$rootfs/bin/busybox"
  cp -R "$model_dir/." "$rootfs/model/"
  chmod -R a+rX "$rootfs/model"
}

log "assembling the root filesystems in $context"
mkdir -p "$context"
for service in indexer searcher; do
  assemble_service_rootfs "$target_dir/release/$service" "$context/rootfs-$service"
done
assemble_model_rootfs "$context/rootfs-embedding-model"

build() {
  local target=$1 image=$2
  log "building $image"
  buildah build --file "$container_dir/Containerfile" --target "$target" \
    --build-arg "VERSION=$version" --tag "$image" "$context"
}
build indexer "$prefix/indexer:$tag"
build searcher "$prefix/searcher:$tag"
build embedding-model "$prefix/embedding-model:$MODEL_TAG"

log "built $prefix/indexer:$tag, $prefix/searcher:$tag and $prefix/embedding-model:$MODEL_TAG"
log "push each with: buildah push IMAGE docker://REGISTRY/IMAGE"
