#!/usr/bin/env bash
# Checks the contract in Protos/ the way a bank's integrators meet it (CI runs it):
#   1. lint: naming and shape rules (scripts/proto_check.py lint);
#   2. breaking changes against the descriptor set of the last tagged release (a tag v*): a field,
#      enum value or rpc gone without its number reserved, or one whose number, type or name changed;
#   3. Java: protoc's Java code with the generic service classes compiles with javac against
#      Debian's protobuf-java, and every rpc is a method of its service class;
#   4. Python: protoc's Python code imports with the protobuf runtime of protoc's version, and every
#      rpc is a method of its service class.
#
# Needs protoc (protobuf-compiler), javac and protobuf-java (libprotobuf-java), python3 with venv;
# .ci/run installs them. Python's protobuf goes to .build/proto-venv.
#
# Usage: scripts/proto-check.sh [--against REF]   (REF: a tag or commit; default the last v* tag)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
against=""
if [ "${1:-}" = "--against" ]; then against=${2:?"--against needs a tag or commit"}; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

venv=.build/proto-venv
protobuf_python=$(protoc --version | awk '{ split($2, v, "."); print "4." v[2] "." v[3] }')
if ! "$venv/bin/python" -c "import google.protobuf" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "protobuf==$protobuf_python"
fi
python="$venv/bin/python"

protos() { (cd "$1" && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort); }
mapfile -t files < <(protos Protos)
(cd Protos && protoc --include_imports --descriptor_set_out="$work/new.pb" "${files[@]}")

echo "== lint"
"$python" scripts/proto_check.py lint "$work/new.pb"
echo "lint: ${#files[@]} files pass"

echo "== breaking changes"
if [ -z "$against" ]; then
  against=$(git describe --tags --abbrev=0 --match 'v*' 2>/dev/null || true)
fi
if [ -z "$against" ]; then
  echo "NOTICE: no tagged release (v*) in this clone (a shallow or tag-less clone): breaking-change check not run"
else
  mkdir -p "$work/old"
  git archive "$against" Protos | tar -x -C "$work/old"
  mapfile -t old_files < <(protos "$work/old/Protos")
  (cd "$work/old/Protos" && protoc --include_imports --descriptor_set_out="$work/old.pb" "${old_files[@]}")
  "$python" scripts/proto_check.py breaking "$work/old.pb" "$work/new.pb"
  echo "no breaking change against $against"
fi

echo "== Java service stubs"
jar=/usr/share/java/protobuf.jar
mkdir -p "$work/java" "$work/classes"
(cd Protos && protoc --java_out="$work/java" "${files[@]}")
find "$work/java" -name '*.java' > "$work/java-sources"
javac -nowarn -d "$work/classes" -cp "$jar" @"$work/java-sources" 2> "$work/javac.log" || { cat "$work/javac.log" >&2; exit 1; }
# Each service is an abstract class with one method per rpc, named in lowerCamelCase.
"$python" scripts/proto_check.py java-stubs "$work/new.pb" "$work/classes" "$jar"

echo "== Python service stubs"
mkdir -p "$work/python"
(cd Protos && protoc --python_out="$work/python" "${files[@]}")
"$python" scripts/proto_check.py python-stubs "$work/new.pb" "$work/python"
echo "Python: every rpc is a method of its service class"
