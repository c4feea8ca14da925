#!/usr/bin/env bash
# Validates deploy/ offline, with no cluster and no network:
#   - renders every overlay in kubernetes/overlays with kubectl kustomize, once as it is and once with
#     the redis-stack component added to its components, as a user would add it;
#   - checks each rendering against the Kubernetes API schemas of several releases with
#     kubernetes-validate --strict, which rejects unknown fields;
#   - checks each rendering against checkov's Kubernetes policies;
#   - checks each rendering's Deployments against the TOML configuration they mount (check-pod-config.py);
#   - lints the Containerfile with hadolint.
# Runs every check, prints a summary, and exits 1 if any check failed or 2 if a tool is missing.
# Tools are taken from PATH first, then from the virtualenv that `scripts/provision.sh tools` fills.
set -euo pipefail

# 1.30 is the minimum release: the pods use the preStop sleep action, on by default since 1.30.
readonly KUBERNETES_VERSIONS=(1.30 1.33 1.37)
readonly REDIS_COMPONENT=../../components/redis-stack

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv_bin=${DOCSEARCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docsearch}/venv/bin

kubectl='' kubernetes_validate='' checkov='' hadolint=''
missing_tools=()
# Sets the variable named $1 to the path of tool $2 from PATH or the virtualenv, or records the tool as
# missing with the command ($3) that installs it.
find_tool() {
  local variable=$1 name=$2 install=$3 path
  if path=$(command -v "$name"); then
    printf -v "$variable" '%s' "$path"
  elif [[ -x $venv_bin/$name ]]; then
    printf -v "$variable" '%s' "$venv_bin/$name"
  else
    missing_tools+=("$name (install it with: $install)")
  fi
}

find_tool kubectl kubectl "kubectl from your Kubernetes distribution; validated with 1.32, which embeds kustomize v5.5.0"
find_tool kubernetes_validate kubernetes-validate "scripts/provision.sh tools"
find_tool checkov checkov "scripts/provision.sh tools"
find_tool hadolint hadolint "scripts/provision.sh tools"
# check-pod-config.py needs Python 3.11 (tomllib) and PyYAML, which checkov's virtualenv always has.
python=
for candidate in python3 "$venv_bin/python3"; do
  if "$candidate" -c 'import tomllib, yaml' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[[ -n $python ]] || missing_tools+=("python3 3.11 or later with PyYAML (install it with: scripts/provision.sh tools)")

if [[ ${#missing_tools[@]} -gt 0 ]]; then
  for tool in "${missing_tools[@]}"; do
    echo "validate.sh: error: not found on PATH or in $venv_bin: $tool" >&2
  done
  exit 2
fi

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

passed=0
failures=()
# Runs a check named $1 and returns its status. The check's output is shown only when it fails. A check
# may leave a one-line note in $work_dir/note, which is shown when it passes.
run_check() {
  local name=$1 log=$work_dir/check.log note=$work_dir/note
  shift
  rm -f "$note"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'ok      %s%s\n' "$name" "$([[ -f $note ]] && printf ' (%s)' "$(<"$note")")"
    return 0
  fi
  failures+=("$name")
  printf 'FAILED  %s\n' "$name"
  sed 's/^/        /' "$log"
  return 1
}

# Runs checkov on file $1 and keeps its summary line, such as "Passed checks: 272, Failed checks: 0,
# Skipped checks: 5", as the note.
run_checkov() {
  local status=0
  "$checkov" --framework kubernetes --skip-download --quiet --compact --file "$1" || status=$?
  grep -h '^Passed checks:' "$work_dir/check.log" >"$work_dir/note" || true
  return "$status"
}

# Renders overlay $1 into file $2. With $3 = redis-stack, renders a copy of the overlay that lists the
# redis-stack component.
render() {
  local overlay=$1 output=$2 variant=${3:-}
  if [[ -z $variant ]]; then
    "$kubectl" kustomize "$deploy_dir/kubernetes/overlays/$overlay" >"$output"
    return
  fi
  local copy=$work_dir/kubernetes-$overlay
  rm -rf "$copy"
  cp -R "$deploy_dir/kubernetes" "$copy"
  local kustomization=$copy/overlays/$overlay/kustomization.yaml
  if grep -q '^components:' "$kustomization"; then
    echo "$overlay/kustomization.yaml already lists components; validate.sh adds the redis-stack component itself"
    return 1
  fi
  printf '\ncomponents:\n  - %s\n' "$REDIS_COMPONENT" >>"$kustomization"
  "$kubectl" kustomize "$copy/overlays/$overlay" >"$output"
}

overlays=()
for dir in "$deploy_dir"/kubernetes/overlays/*/; do
  overlays+=("$(basename "$dir")")
done

for overlay in "${overlays[@]}"; do
  for variant in "" redis-stack; do
    label=$overlay${variant:++$variant}
    rendered=$work_dir/$label.yaml
    if ! run_check "$label: kubectl kustomize" render "$overlay" "$rendered" "$variant"; then
      continue
    fi
    for version in "${KUBERNETES_VERSIONS[@]}"; do
      run_check "$label: kubernetes-validate --strict -k $version" \
        "$kubernetes_validate" --strict --quiet -k "$version" "$rendered" || true
    done
    run_check "$label: checkov" run_checkov "$rendered" || true
    run_check "$label: check-pod-config.py" "$python" "$deploy_dir/check-pod-config.py" "$rendered" || true
  done
done

for containerfile in "$deploy_dir"/container/Containerfile*; do
  run_check "hadolint ${containerfile#"$deploy_dir"/}" "$hadolint" --no-color "$containerfile" || true
done

echo
echo "$passed passed, ${#failures[@]} failed"
if [[ ${#failures[@]} -gt 0 ]]; then
  printf 'failed: %s\n' "${failures[@]}"
  exit 1
fi
