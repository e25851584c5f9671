#!/usr/bin/env bash
# Stage: webhook signatures checked by the Standard Webhooks reference
# library (PyPI `standardwebhooks`, in a throwaway virtualenv), on every
# delivery the webhook suite receives (SQLite; 20-postgres runs the same
# suite on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR, motp_run_test

VENV="$(mktemp -d /tmp/motp-whvenv.XXXXXX)"
trap 'rm -rf "$VENV"' EXIT
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q standardwebhooks==1.1.0
MOTP_TEST_STANDARDWEBHOOKS_PYTHON="$VENV/bin/python" motp_run_test webhooks sqlite::
