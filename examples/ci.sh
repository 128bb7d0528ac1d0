#!/usr/bin/env bash
# vaecheck as a CI step, on the shipped sample models: each run must end with the exit code
# its verdict calls for (0 clean, 1 findings at or above the fail level, 2 unusable input).
# Run it from anywhere; VAECHECK names the command to use (default: vaecheck on PATH).
set -uo pipefail
cd "$(dirname "$0")/.."
read -r -a VAECHECK <<< "${VAECHECK:-vaecheck}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failures=0

expect() {  # expect CODE ARGS...: run vaecheck with ARGS and compare its exit code with CODE
    local wanted=$1
    shift
    "${VAECHECK[@]}" --no-color "$@" > "$out/stdout" 2> "$out/stderr"
    local got=$?
    if [ "$got" -eq "$wanted" ]; then
        echo "ok    exit $got  vaecheck $*"
    else
        echo "FAIL  exit $got, expected $wanted  vaecheck $*"
        sed 's/^/      /' "$out/stderr"
        failures=$((failures + 1))
    fi
}

S=sample_models
expect 0 "$S/sigmoid_vae.keras" "$S/unit.npy"                 # sigmoid output, data inside (0, 1)
expect 1 "$S/relu_vae.keras" "$S/standardized.npy"            # relu cannot produce negative values
expect 1 "$S/relu_vae.h5" "$S/standardized.npy"               # the same model, legacy HDF5
expect 1 "$S/tanh_generator.keras" "$S/images_uint8.npy"      # tanh covers (-1, 1), pixels 0..255
expect 0 "$S/relu_vae.keras" "$S/standardized.npy" --exit-zero
expect 0 "$S/relu_vae.keras" "$S/standardized.npy" --ignore VC001
expect 1 "$S/sigmoid_vae.keras" "$S/unit.npy" "$S/relu_vae.keras" "$S/standardized.npy"  # one exit code
expect 2 "$S/relu_vae.keras" "$S/absent.npy"                  # unusable input
expect 2 "$S/relu_vae.keras" "$S/standardized.npy" --exit-zero --select VC999  # usage error

# The machine-readable reports, as a pipeline would keep them.
expect 1 "$S/relu_vae.keras" "$S/standardized.npy" --format sarif --output "$out/vaecheck.sarif"
grep -q '"ruleId": "VC001"' "$out/vaecheck.sarif" || { echo "FAIL  no VC001 result in the SARIF report"; failures=$((failures + 1)); }
expect 1 "$S/tanh_generator.keras" "$S/images_uint8.npy" --format github
grep -q '^::error file=sample_models/tanh_generator.keras,title=VC001' "$out/stdout" || { echo "FAIL  no GitHub annotation"; failures=$((failures + 1)); }

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all exit codes as expected"
