# shellcheck shell=bash
# Sourced by every script that runs cargo (scripts/*.sh, scripts/test.d/*,
# scripts/lib/test-servers.sh, scripts/bench/lib.sh, ios/build-xcframework.sh).
#
# MOTP_CARGO_VENDOR=<dir>: build offline from a vendored copy of the crates
# (the output of `cargo vendor` for this Cargo.lock). Every cargo call of the
# sourcing script then gets
#     --offline
#     --config 'source.crates-io.replace-with="vendored-sources"'
#     --config 'source.vendored-sources.directory="<dir>"'
# so nothing is fetched from crates.io. Unset (the default), cargo runs as is.
# .ci/run sets MOTP_CARGO_VENDOR=../shared/vendor when crates.io cannot be
# reached and that directory exists.
#
# The flags go right after the subcommand, not before it: cargo drops its own
# global flags when it runs an external subcommand, while `cargo clippy`
# passes what follows it on to the `cargo check` it runs. `cargo fmt`
# (no network; its `--config` means rustfmt's), `cargo fuzz` (its fuzz crates
# have their own Cargo.lock, which the vendored directory does not cover) and
# `cargo install` (a tool from crates.io, not one of this project's crates)
# are left alone.

motp_cargo_flags=()
if [ -n "${MOTP_CARGO_VENDOR:-}" ]; then
  if [ ! -d "$MOTP_CARGO_VENDOR" ]; then
    echo "MOTP_CARGO_VENDOR=$MOTP_CARGO_VENDOR is not a directory" >&2
    exit 1
  fi
  motp_cargo_flags=(
    --offline
    --config 'source.crates-io.replace-with="vendored-sources"'
    --config "source.vendored-sources.directory=\"$(cd "$MOTP_CARGO_VENDOR" && pwd)\""
  )
fi

# cargo SUBCOMMAND ARGS…: cargo, with the vendoring flags when they apply.
cargo() {
  if [ "${#motp_cargo_flags[@]}" -eq 0 ] || [ "$#" -eq 0 ]; then
    command cargo "$@"
    return
  fi
  local sub=$1
  shift
  case $sub in
    -*|+*|fmt|fuzz|install|ndk|help) command cargo "$sub" "$@" ;;
    *) command cargo "$sub" "${motp_cargo_flags[@]}" "$@" ;;
  esac
}

# motp_registry_reachable NAME: whether a package registry answers (2xx or
# 3xx on a file it always serves; proxies in the environment and
# PIP_INDEX_URL are honoured). NAME: crates.io, maven, npm, pypi.
# Stages call it only for the tools they must download, so that a machine
# without that registry skips them ("SKIPPED: maven unreachable") while any
# other failure still fails.
motp_registry_reachable() {
  local url
  case $1 in
    crates.io) url=https://index.crates.io/config.json ;;
    maven) url=https://repo.maven.apache.org/maven2/org/apache/maven/maven-core/maven-metadata.xml ;;
    npm) url=https://registry.npmjs.org/npm ;;
    pypi) url="${PIP_INDEX_URL:-https://pypi.org/simple}"; url="${url%/}/pip/" ;;
    *) echo "motp_registry_reachable: unknown registry $1" >&2; return 2 ;;
  esac
  local code
  for _ in 1 2; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -L "$url" 2>/dev/null) || code=000
    case $code in 2??|3??) return 0 ;; esac
  done
  return 1
}

# motp_skip_unless_reachable NAME: ends the calling stage with
# "SKIPPED: NAME unreachable" (exit 0) when the registry cannot be reached.
motp_skip_unless_reachable() {
  motp_registry_reachable "$1" && return 0
  echo "SKIPPED: $1 unreachable"
  exit 0
}

# One line per integration test target, "name<TAB>package dir<TAB>executable",
# asked of cargo once per script by motp_run_test.
motp_test_targets=""

# motp_run_test NAME [HARNESS ARGS…]: runs the integration test target NAME
# (server/tests/NAME.rs, …) exactly as `cargo test --workspace` built it,
# from its package's directory as cargo would, with ARGS for the test
# harness (a name filter, `--test-threads=1`, …). The stages use it instead
# of `cargo test -p motp-server --test NAME`, which builds every test binary
# again with the package's own feature set: minutes of CI and over a
# gigabyte of disk. Builds the workspace's tests first if they are not.
motp_run_test() {
  local name="$1"
  shift
  if [ -z "$motp_test_targets" ]; then
    motp_test_targets="$(cargo test --workspace --no-run --quiet --message-format=json |
      python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target") or {}
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and "test" in t.get("kind", []):
        print(t["name"], os.path.dirname(m["manifest_path"]), m["executable"], sep="\t")
')"
  fi
  local dir exe
  IFS=$'\t' read -r _ dir exe < <(awk -F'\t' -v n="$name" '$1 == n' <<<"$motp_test_targets") || true
  if [ -z "${exe:-}" ]; then
    echo "motp_run_test: no test target named $name in the workspace" >&2
    return 1
  fi
  echo "     Running tests/$name.rs ($exe)"
  (cd "$dir" && "$exe" "$@")
}
