#!/usr/bin/env bash
# Compile and lint the infrastructure (infra/main.bicep and its local modules) with the bicep
# CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64, pinned in
# tests/Attribution.Infra.Tests/Attribution.Infra.Tests.csproj (PackageDownload) and restored
# with that project. Fails on any error and on any warning or other diagnostic.
#
#   bash .ci/bicep.sh            # build + lint; the compiled ARM JSON goes to $BICEP_OUT
#   BICEP_PATH=/path/to/bicep    # use that binary instead
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
csproj="tests/Attribution.Infra.Tests/Attribution.Infra.Tests.csproj"
package="azure.bicep.commandline.linux-x64"

version="$(sed -n 's:.*<BicepCliVersion>\(.*\)</BicepCliVersion>.*:\1:p' "$csproj" | head -n1)"
if [ -z "$version" ]; then
  echo "bicep.sh: no <BicepCliVersion> in $csproj" >&2
  exit 1
fi

find_bicep() {
  if [ -n "${BICEP_PATH:-}" ]; then
    echo "$BICEP_PATH"
    return
  fi
  local roots=()
  [ -n "${NUGET_PACKAGES:-}" ] && roots+=("$NUGET_PACKAGES")
  roots+=("$HOME/.nuget/packages")
  local r
  for r in "${roots[@]}"; do
    if [ -f "$r/$package/$version/tools/bicep" ]; then
      echo "$r/$package/$version/tools/bicep"
      return
    fi
  done
  # Whatever NuGet is configured to use as its global packages folder.
  r="$(dotnet nuget locals global-packages --list 2>/dev/null | sed -n 's/^global-packages: //p' | head -n1)"
  r="${r%/}"
  if [ -n "$r" ] && [ -f "$r/$package/$version/tools/bicep" ]; then
    echo "$r/$package/$version/tools/bicep"
  fi
}

bicep="$(find_bicep)"
if [ -z "$bicep" ]; then
  echo "bicep.sh: bicep $version not in the NuGet packages folder; restoring $csproj"
  dotnet restore "$csproj" --verbosity quiet
  bicep="$(find_bicep)"
fi
if [ -z "$bicep" ] || [ ! -f "$bicep" ]; then
  echo "bicep.sh: cannot find the bicep binary of $package $version" >&2
  exit 1
fi
[ -x "$bicep" ] || chmod u+x "$bicep"

echo "bicep.sh: $("$bicep" --version) ($bicep)"

out="${BICEP_OUT:-$(mktemp -d)/main.json}"
status=0

# Diagnostics are printed as `file(line,col) : Level code: message`; any of them fails CI.
run() {
  local what="$1"; shift
  local log rc=0
  log="$(mktemp)"
  "$bicep" "$@" >"$log" 2>&1 || rc=$?
  if [ -s "$log" ]; then
    cat "$log"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "bicep.sh: $what FAILED (exit $rc)"
    status=1
  elif grep -Eq ' : (Error|Warning|Info) ' "$log"; then
    echo "bicep.sh: $what reported diagnostics (warnings count as failures)"
    status=1
  else
    echo "bicep.sh: $what OK: 0 errors, 0 warnings"
  fi
  rm -f "$log"
}

run "bicep build infra/main.bicep" build infra/main.bicep --outfile "$out"
run "bicep lint infra/main.bicep" lint infra/main.bicep

if [ "$status" -eq 0 ]; then
  echo "bicep.sh: compiled ARM template: $out ($(wc -c <"$out") bytes)"
fi
exit "$status"
