#!/usr/bin/env bash
# Installs everything hearth needs to build and test on a fresh Debian 12 machine.
# Debian packages only; run as root (or with sudo available).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake pkg-config
  clang               # CI (scripts/ci-checks.sh): AddressSanitizer/UBSan build and libFuzzer targets
  cppcheck            # CI (scripts/ci-checks.sh): static analysis of src/
  libpcre2-dev        # tokenizer pre-tokenizer regexes (Unicode properties, JIT)
  libcjson-dev        # JSON: command output, chat templates' contexts, reference data
  libmicrohttpd-dev   # hearth serve: HTTP/1.1 server (parsing, chunked streaming, limits, timeouts)
  libsodium-dev       # gateway: API key hashes (BLAKE2b), audit chain (SHA-256), random secrets
  libsqlite3-dev      # gateway: key store, usage, audit log (WAL); prompt library: versions and labels
  libpq-dev           # gateway: PostgreSQL storage shared by several gateways (database: postgresql://...)
  postgresql          # gateway tests (label pg): a throwaway cluster started by the test
  postgresql-common   # gateway tests (label pg): pg_virtualenv
  faketime            # gateway tests (label pg): one gateway's clock skewed against the other's
  libyaml-dev         # gateway: YAML configuration; prompt library: specs and eval suites
  libcurl4-openssl-dev  # gateway: proxying to hearth serve replicas
  sqlite3             # gateway tests: tamper with the audit log by hand
  prometheus          # gateway and deploy tests: promtool (metrics, config, rules, rule tests), Prometheus itself in test_deploy_live
  nginx-light         # deploy tests: nginx -t on deploy/nginx, nginx in front of two replicas (test_deploy_live)
  systemd             # deploy tests: systemd-analyze verify on deploy/systemd's units
  docker-compose      # deploy tests: docker-compose config -q on deploy/compose (nothing is run in Docker)
  libpng-dev          # images: PNG decoder (hearth_image; maintained, OSS-Fuzz-fuzzed, security-patched by Debian)
  libjpeg62-turbo-dev # images: JPEG decoder (libjpeg-turbo)
  libwebp-dev         # images: WebP decoder
  libgif-dev          # images: GIF decoder (first frame)
  python3-hnswlib     # bench/index: the reference HNSW (0.6.2) and its exact BFIndex, side by side with hearth
  libpoppler-glib-dev # hearth rag: PDF text with page numbers
  libxml2-dev         # hearth rag: HTML text, DOCX's word/document.xml
  libzip-dev          # hearth rag: DOCX (a zip) read in memory with size checks
  libmd4c-dev         # hearth rag: Markdown text and headings
  nodejs              # server integration tests with the official `openai` npm package
  zlib1g-dev          # industry: gzip-compressed IDX files (MNIST / Fashion-MNIST) for hearth vision
  dataset-fashion-mnist  # industry: the Fashion-MNIST data the vision trainer's slow test and bench use
  python3-torch       # industry: bench/vision_vs_torch.sh trains the PyTorch reference CNN side by side
  librsvg2-dev        # industry: hearth report draws its SVG charts into PDFs (cairo)
  libpango1.0-dev     # industry: hearth report lays out PDF text (pango + cairo)
  poppler-utils       # industry: report tests render the PDF with pdftoppm
  chromium            # web console: the browser tests (tests/ui) drive it with playwright-core
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm comes with nodejs from NodeSource; Debian's nodejs needs the npm package
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends npm
fi
# web console browser tests (tests/ui): playwright-core, pinned in tests/ui/package-lock.json, into
# tests/ui/node_modules and npm's cache (ctest's `npm ci --prefer-offline` then needs no network)
npm ci --prefix "$(dirname "$0")/../tests/ui" --no-audit --no-fund
echo "hearth dependencies installed"
