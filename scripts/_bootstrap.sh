# Sourced by scripts/up and scripts/test: find uv, or install it once into .crossdock/tools.
# Only Python 3.11+ and git are assumed; uv then installs the locked dependencies.
set -euo pipefail
# The uv a machine without one gets; the same as the container image's (a test keeps them equal).
UV_VERSION=0.13.9
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if command -v uv >/dev/null 2>&1; then
    UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
    UV=(python3 -m uv)
else
    if [ ! -x .crossdock/tools/bin/uv ]; then
        echo "installing uv into .crossdock/tools ..." >&2
        python3 -m venv .crossdock/tools
        .crossdock/tools/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    fi
    UV=(.crossdock/tools/bin/uv)
fi
