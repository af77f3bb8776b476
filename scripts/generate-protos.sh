#!/usr/bin/env bash
# Regenerates the Swift code for every .proto file under Protos/ into Sources/WireProtocol/Generated.
#
# protoc comes from Debian's protobuf-compiler; protoc-gen-swift is built from the swift-protobuf
# version the package depends on, in a throw-away package under .build-protoc/ (ignored by git), so
# that no build plugin (and no bundled C++ protoc build) is needed on a fresh clone.
#
# Usage: scripts/generate-protos.sh [--check]
#   --check  generate into a temporary folder and fail if it differs from the committed code.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
protobuf_version=1.39.0
tool_dir="$root/.build-protoc/tool"
out="$root/Sources/WireProtocol/Generated"

if ! command -v protoc >/dev/null 2>&1; then
  echo "protoc not found: apt-get install -y protobuf-compiler" >&2
  exit 1
fi

plugin="$tool_dir/.build/release/protoc-gen-swift"
if [ ! -x "$plugin" ]; then
  mkdir -p "$tool_dir/Sources/placeholder"
  cat > "$tool_dir/Package.swift" <<MANIFEST
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "protoc-gen-swift-builder",
    dependencies: [.package(url: "https://github.com/apple/swift-protobuf.git", exact: "$protobuf_version")],
    targets: [.target(name: "placeholder", path: "Sources/placeholder")]
)
MANIFEST
  echo "// empty" > "$tool_dir/Sources/placeholder/empty.swift"
  echo "building protoc-gen-swift $protobuf_version (about 90 s, once)" >&2
  swift build --package-path "$tool_dir" -c release --product protoc-gen-swift >&2
fi

target="$out"
if [ "${1:-}" = "--check" ]; then
  target=$(mktemp -d)
  trap 'rm -rf "$target"' EXIT
fi

cd "$root/Protos"
mapfile -t protos < <(find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=PathToUnderscores \
  --swift_opt=UseAccessLevelOnImports=true \
  --swift_out="$target" \
  "${protos[@]}"

if [ "${1:-}" = "--check" ]; then
  if diff -r -x README.md "$out" "$target"; then
    echo "generated code matches Protos/"
  else
    echo "generated code is out of date: run scripts/generate-protos.sh and commit" >&2
    exit 1
  fi
else
  echo "generated ${#protos[@]} files into ${out#$root/}"
fi
