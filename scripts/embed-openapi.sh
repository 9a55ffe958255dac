#!/usr/bin/env bash
# Writes Sources/ledgerd/OpenAPIDocument.swift from docs/openapi.yaml, so that ledgerd serves the
# document at /openapi.yaml without files beside its binary. Run it after editing docs/openapi.yaml;
# a test (LedgerdTests, "the served OpenAPI document is docs/openapi.yaml") fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
text = open("docs/openapi.yaml", encoding="utf-8").read()
assert '"""#' not in text, "docs/openapi.yaml holds the raw string's end marker"
body = "\n".join(("        " + line) if line else "" for line in text.rstrip("\n").split("\n"))
swift = f'''/// docs/openapi.yaml, served at `/openapi.yaml`: written by scripts/embed-openapi.sh (a test checks
/// that it is the file in docs/).
enum OpenAPIDocument {{
    static let yaml = #"""
{body}

        """#
}}
'''
open("Sources/ledgerd/OpenAPIDocument.swift", "w", encoding="utf-8").write(swift)
PY
