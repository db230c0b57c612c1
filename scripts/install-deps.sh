#!/usr/bin/env bash
# Installs (idempotently) the Debian packages one use of turnpike needs:
#   install-deps.sh build   compiler and libraries: enough to build and run (`make run`)
#   install-deps.sh test    build + unit and end-to-end tests (`make test`)
#   install-deps.sh bench   build + the benchmark peers and load generator (`make bench`)
#   install-deps.sh fuzz    build + clang's libFuzzer (`make fuzz`)
#   install-deps.sh all     everything
# Safe to run again: packages already present are skipped without touching the network.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build ccache pkg-config
  node-llhttp libyaml-cpp-dev libre2-dev nlohmann-json3-dev
  libssl-dev libcurl4-openssl-dev
)
test_packages=(
  # unit tests
  libgtest-dev libgmock-dev
  # end-to-end tests (Debian's /usr/bin/python3; PyPI is not reachable)
  python3 python3-pytest python3-requests python3-jwt python3-cryptography curl procps
  # metrics format check (promtool), and `systemd-analyze verify` of the installed unit
  prometheus systemd
)
fuzz_packages=(
  # libFuzzer, ASan and UBSan runtimes for clang; `time` for the CPU seconds per target
  clang-14 libclang-rt-14-dev time
)
bench_packages=(
  # micro-benchmarks, peers and load generator
  libbenchmark-dev wrk nginx haproxy
)

case "${1:-all}" in
  build) packages=("${build_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  bench) packages=("${build_packages[@]}" "${bench_packages[@]}") ;;
  fuzz) packages=("${build_packages[@]}" "${fuzz_packages[@]}") ;;
  all) packages=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}"
                 "${fuzz_packages[@]}") ;;
  *) echo "usage: $0 [build|test|bench|fuzz|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps (${1:-all}): all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

# Keep package post-install scripts from starting system services (nginx, haproxy): the tests
# and the bench start their own instances on ports they pick.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  added_policy=1
fi
cleanup() { if ((added_policy)); then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
