#!/usr/bin/env bash
# Re-vendor htmx for the console from the npm package (no CDN at runtime): pinned version, checked digest.
set -euo pipefail

VERSION="2.0.11"
SHA256="165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/src/casevault/web/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "htmx.org@$VERSION" >/dev/null
echo "$SHA256  htmx.org-$VERSION.tgz" | sha256sum --check --quiet
tar xzf "htmx.org-$VERSION.tgz"
mkdir -p "$DEST"
cp package/dist/htmx.min.js "$DEST/htmx-$VERSION.min.js"
cp package/LICENSE "$DEST/htmx-$VERSION.LICENSE.txt"
echo "vendored htmx $VERSION into $DEST"
