#!/usr/bin/env bash
# shellcheck disable=SC2016  # the stub bodies below are scripts of their own, expanded when they run
# The iOS shell, as far as a Linux machine can check it (no Swift compiler,
# no Xcode here; the Swift syntax of ios/ is checked by 40-syntax.sh):
#   1. Package.swift parses (tree-sitter-swift) and names paths that exist,
#      module names that match bindings/uniffi.toml, and the deployment
#      targets the XCFramework script builds for; tools 6.0 in Swift 6 mode;
#      the three products; the Linux system-library module map; the privacy
#      manifest; Apple-only imports behind `#if canImport`; no `@_exported`;
#      a release checksum of zeros only while no git tag names releaseTag;
#      the XCTest fakes override every method of the generated Verification;
#   2. ios/build-xcframework.sh passes bash -n and shellcheck;
#   3. a dry run of ios/build-xcframework.sh --release in a scratch copy,
#      with cargo and the Apple tools replaced by stubs, produces the
#      dynamic framework layout, the zip and the Package.swift rewrite;
#   4. .github/workflows/ios.yml and ios-release.yml parse and do their jobs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

fail() { echo "ios: $*" >&2; exit 1; }

command -v shellcheck >/dev/null || apt-get install -y -q shellcheck >/dev/null
command -v zip >/dev/null || apt-get install -y -q zip >/dev/null
python3 -c 'import yaml' 2>/dev/null || apt-get install -y -q python3-yaml >/dev/null
source scripts/lib/cargo.sh  # registry checks
tree_sitter=true
if ! python3 -c 'import tree_sitter, tree_sitter_swift' 2>/dev/null; then
  if motp_registry_reachable pypi; then
    python3 -m pip install --quiet --disable-pip-version-check \
      'tree-sitter==0.26.1' 'tree-sitter-kotlin==1.1.0' 'tree-sitter-swift==0.7.4'
  else
    tree_sitter=false
  fi
fi

# 1. Package.swift
masks=()
[ -f ios/syntax-masks.txt ] && masks=(--masks ios/syntax-masks.txt)
if $tree_sitter; then
  python3 scripts/check-syntax.py "${masks[@]}" Package.swift
else
  echo "SKIPPED: pypi unreachable (tree-sitter: the syntax of Package.swift); the other checks run"
fi
python3 - <<'PY'
import plistlib, re, subprocess, sys, tomllib
from pathlib import Path

manifest = Path("Package.swift").read_text()
script = Path("ios/build-xcframework.sh").read_text()
uniffi = tomllib.loads(Path("bindings/uniffi.toml").read_text())["bindings"]["swift"]
problems = []

def need(condition, message):
    if not condition:
        problems.append(message)

ffi_module = uniffi["ffi_module_name"]
swift_module = uniffi["module_name"]
need(f'name: "{ffi_module}"' in manifest, f"binary target is not named {ffi_module} (uniffi.toml ffi_module_name)")
need(f'name: "{swift_module}"' in manifest, f"no target named {swift_module} (uniffi.toml module_name)")
need(f"module={ffi_module}" in script, f"ios/build-xcframework.sh does not build {ffi_module}")
need(f'localFrameworkPath = "ios/build/{ffi_module}.xcframework"' in manifest, "local XCFramework path differs from the script's output")
need(f"/{ffi_module}.xcframework.zip" in manifest, "release URL does not name the script's zip")
need(re.search(r'^let releaseChecksum = "[0-9a-f]{64}"$', manifest, re.M), "releaseChecksum is not 64 hex digits")
need(re.search(r'^let useLocalFramework =$', manifest, re.M) and "true\n" not in manifest.split("let useLocalFramework =")[1][:200],
     "useLocalFramework must be decided by the environment or the local XCFramework, not hard-wired")

# A tagged release never carries the placeholder checksum: zeros are allowed
# only while no git tag names releaseTag (with or without a leading v).
tag = re.search(r'^let releaseTag = "([^"]+)"$', manifest, re.M)
checksum = re.search(r'^let releaseChecksum = "([0-9a-f]{64})"$', manifest, re.M)
need(tag, "no releaseTag")
if tag and checksum and set(checksum.group(1)) == {"0"}:
    tags = subprocess.run(["git", "tag", "--list", tag.group(1), "v" + tag.group(1)],
                          capture_output=True, text=True).stdout.split()
    need(not tags, f"git tag {tags} exists but releaseChecksum is still zeros: a tagged release needs the real checksum")

# Tools 6.0, Swift 6 language mode; generated code alone in Swift 5 mode.
need(manifest.startswith("// swift-tools-version:6.0\n"), "swift-tools-version is not 6.0")
need("swiftLanguageModes: [.v6]" in manifest, "the package does not state Swift 6 language mode")
need(manifest.count(".swiftLanguageMode(.v5)") == 1, "only the generated MotpFFI target may use Swift 5 mode")

# Products a developer picks; UI and CallKit separate from the verifier.
for product in ("Motp", "MotpUI", "MotpCallKit"):
    need(f'.library(name: "{product}", targets: ["{product}"])' in manifest, f"no product {product}")
    need(Path(f"ios/Sources/{product}").is_dir(), f"ios/Sources/{product} missing")

# Linux: MotpRustFFI is a system library whose module map lists both headers
# and links motp_ffi; Apple: the binary target.
linux = re.search(r'#if os\(Linux\)(.*?)#else(.*?)#endif', manifest, re.S)
need(linux and f'.systemLibrary(name: "{ffi_module}", path: "ios/Sources/{ffi_module}")' in linux.group(1),
     "no Linux system-library target for the C module")
need(linux and ".binaryTarget(" in linux.group(2) and ".binaryTarget(" not in linux.group(1),
     "the binary targets must be Apple-only")
modulemap_path = Path(f"ios/Sources/{ffi_module}/module.modulemap")
need(modulemap_path.is_file(), f"{modulemap_path} missing")
if modulemap_path.is_file():
    modulemap = modulemap_path.read_text()
    need(f"module {ffi_module} {{" in modulemap, f"the Linux module map does not declare module {ffi_module}")
    need('link "motp_ffi"' in modulemap, "the Linux module map does not link motp_ffi")
    for header in (f"{ffi_module}.h", "MotpCoreFFI.h"):
        ref = re.search(r'header "([^"]*/' + re.escape(header) + ')"', modulemap)
        need(ref and (modulemap_path.parent / ref.group(1)).resolve().is_file(),
             f"the Linux module map does not reach {header}")

# The privacy manifest: a plist resource of Motp declaring the phone number,
# collected for app functionality, linked, not tracking.
privacy = Path("ios/Sources/Motp/PrivacyInfo.xcprivacy")
need('resources: [.copy("PrivacyInfo.xcprivacy")]' in manifest, "PrivacyInfo.xcprivacy is not a resource of Motp")
if privacy.is_file():
    info = plistlib.loads(privacy.read_bytes())
    need(info.get("NSPrivacyTracking") is False, "privacy manifest: tracking not false")
    phone = [d for d in info.get("NSPrivacyCollectedDataTypes", [])
             if d.get("NSPrivacyCollectedDataType") == "NSPrivacyCollectedDataTypePhoneNumber"]
    need(phone and phone[0].get("NSPrivacyCollectedDataTypeLinked") is True
         and phone[0].get("NSPrivacyCollectedDataTypeTracking") is False
         and phone[0].get("NSPrivacyCollectedDataTypePurposes") == ["NSPrivacyCollectedDataTypePurposeAppFunctionality"],
         "privacy manifest: the phone number is not declared (linked, not tracking, app functionality)")
else:
    need(False, f"{privacy} missing")

# Swift that compiles on Linux: every import of an Apple-only framework sits
# inside an `#if canImport(...)` of it; Motp itself imports none; nothing
# re-exports a whole module.
apple_only = ("SwiftUI", "CallKit", "Combine", "UIKit", "AppKit", "os")
for source in sorted(Path("ios").rglob("*.swift")):
    text = source.read_text()
    need("@_exported" not in text, f"{source}: @_exported import")
    depth, guards = 0, []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#if"):
            guards.append(stripped)
        elif stripped.startswith("#endif") and guards:
            guards.pop()
        m = re.match(r'(?:@preconcurrency\s+)?import\s+(\w+)', stripped)
        if m and m.group(1) in apple_only:
            need(any(f"canImport({m.group(1)})" in g for g in guards),
                 f"{source}: import {m.group(1)} outside #if canImport({m.group(1)})")
            need("Sources/Motp/" not in str(source), f"{source}: the Motp product imports {m.group(1)}")

generated = Path("bindings/generated/swift")
need((generated / f"{swift_module}.swift").is_file(), f"bindings/generated/swift/{swift_module}.swift is missing")
# Every generated Swift file (motp-ffi's and motp-core's) is a source of the
# one Swift module, and each imports the one C module.
swift_files = sorted(p.name for p in generated.glob("*.swift"))
listed = re.search(r'sources: \[([^\]]*)\]', manifest)
need(listed and sorted(re.findall(r'"([^"]+)"', listed.group(1))) == swift_files,
     f"the {swift_module} target's sources are not exactly {swift_files}")
for name in swift_files:
    need(f"import {ffi_module}" in (generated / name).read_text(), f"{name} does not import {ffi_module}")
for excluded in re.findall(r'exclude: \[([^\]]*)\]', manifest):
    for name in re.findall(r'"([^"]+)"', excluded):
        need((generated / name).exists(), f"excluded file {name} does not exist in {generated}")

for path in re.findall(r'path: "([^"]+)"', manifest):
    if path.endswith(".xcframework") or path.endswith("MotpRustFFI"):
        continue
    need(Path(path).is_dir(), f"target path {path} does not exist")
    need(any(Path(path).rglob("*.swift")), f"target path {path} has no Swift sources")

# Deployment targets: Package.swift platforms == what the script builds for.
ios = re.search(r'\.iOS\(\.v(\d+)\)', manifest)
mac = re.search(r'\.macOS\(\.v(\d+)\)', manifest)
need(ios and f"ios_min={ios.group(1)}.0" in script, "iOS deployment target differs between Package.swift and the script")
need(mac and f"macos_min={mac.group(1)}.0" in script, "macOS deployment target differs between Package.swift and the script")

# The test fakes must track the generated surface: every method of the
# generated Verification overridden (the originals call into Rust), every
# MotpClientProtocol requirement implemented. Swift would only tell on a Mac.
bindings = (generated / f"{swift_module}.swift").read_text()
fakes = Path("ios/Tests/MotpTests/Fakes.swift").read_text()
verification = bindings[bindings.index("open class Verification:"):bindings.index("public struct FfiConverterTypeVerification:")]
for name in re.findall(r"^open func (\w+)\(", verification, re.M):
    need(f"override func {name}(" in fakes, f"Fakes.swift does not override Verification.{name}")
client = bindings[bindings.index("public protocol MotpClientProtocol"):]
client = client[:client.index("\n}")]
for name in re.findall(r"^\s+func (\w+)\(", client, re.M):
    need(f"func {name}(" in fakes, f"Fakes.swift does not implement MotpClientProtocol.{name}")

if problems:
    print("\n".join(f"Package.swift: {p}" for p in problems), file=sys.stderr)
    sys.exit(1)
print("Package.swift: tools 6.0 / Swift 6; products, targets, paths, module names, the Linux module map, deployment")
print("  targets and the privacy manifest agree; Apple-only imports guarded; no tagged release with a zero checksum;")
print("  test fakes cover the generated surface")
PY

# 2. The build script
bash -n ios/build-xcframework.sh
shellcheck ios/build-xcframework.sh
echo "ios/build-xcframework.sh: bash -n and shellcheck clean"

# 3. Dry run with stubs
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
repo="$scratch/repo"
stubs="$scratch/bin"
mkdir -p "$repo/ios/Sources/Motp" "$repo/scripts/lib" "$repo/bindings/generated" "$stubs"
cp Package.swift "$repo/"
cp ios/build-xcframework.sh "$repo/ios/"
cp ios/Sources/Motp/PrivacyInfo.xcprivacy "$repo/ios/Sources/Motp/"
cp scripts/lib/cargo.sh "$repo/scripts/lib/"
cp -R bindings/generated/swift "$repo/bindings/generated/"
printf 'echo "generate-bindings $*" >> "%s/log"\n' "$scratch" >"$repo/scripts/generate-bindings.sh"

stub() { printf '#!/usr/bin/env bash\n%s\n' "$2" >"$stubs/$1"; chmod +x "$stubs/$1"; }
stub uname 'echo Darwin'
stub rustup 'echo "rustup $*" >> '"$scratch"'/log'
stub cargo '
case "$1" in
  pkgid) echo "path+file:///repo/bindings#motp-ffi@9.8.7" ;;
  build) while [ $# -gt 0 ]; do [ "$1" = --target ] && target=$2; shift; done
         mkdir -p "target/$target/release"
         echo static > "target/$target/release/libmotp_ffi.a"
         echo "$target" > "target/$target/release/libmotp_ffi.dylib" ;;
  *) exit 1 ;;
esac'
stub strip 'echo "strip $*" >> '"$scratch"'/log'
stub install_name_tool 'echo "install_name_tool $*" >> '"$scratch"'/log'
stub lipo '
if [ "$1" = -info ]; then exit 0; fi
shift; inputs=(); while [ "$1" != -output ]; do inputs+=("$1"); shift; done
cat "${inputs[@]}" > "$2"'
stub xcodebuild '
[ "$1" = -create-xcframework ] || exit 1; shift
frameworks=(); out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -framework) frameworks+=("$2"); shift ;;
    -output) out=$2; shift ;;
  esac; shift
done
[ -n "$out" ] || exit 1
for i in "${!frameworks[@]}"; do mkdir -p "$out/slice$i"; cp -R "${frameworks[$i]}" "$out/slice$i/"; done'
stub ditto '(shift $(($# - 2)); zip -qry "$2" "$1")'
stub swift '[ "$1 $2" = "package compute-checksum" ] && sha256sum "$3" | cut -d" " -f1'

(cd "$repo" && PATH="$stubs:$PATH" bash ios/build-xcframework.sh --release >"$scratch/out" 2>&1) ||
  { cat "$scratch/out" >&2; fail "dry run of ios/build-xcframework.sh --release failed"; }

python3 - "$repo" "$scratch/log" <<'PY'
import hashlib, re, sys, zipfile
from pathlib import Path

repo, log = Path(sys.argv[1]), Path(sys.argv[2]).read_text()
build = repo / "ios/build"
xcf = build / "MotpRustFFI.xcframework"
problems = []

def need(condition, message):
    if not condition:
        problems.append(message)

need("generate-bindings --check --lib target/aarch64-apple-darwin/release/libmotp_ffi.dylib" in log,
     "bindings not checked against the unstripped Mac library")
need(log.count("strip -S -x") == 5 and log.count(".dylib") >= 5, "not every dynamic library was stripped")
need(log.count("install_name_tool -id @rpath/MotpRustFFI.framework/MotpRustFFI ") == 2,
     "iOS slices lack the framework install name")
need(log.count("install_name_tool -id @rpath/MotpRustFFI.framework/Versions/A/MotpRustFFI ") == 1,
     "the macOS slice lacks the versioned framework install name")
slices = sorted(p for p in xcf.glob("slice*/MotpRustFFI.framework"))
need(len(slices) == 3, f"expected 3 framework slices, got {len(slices)}")
binaries = {}
for framework in slices:
    mac = (framework / "Versions").is_dir()
    contents = framework / "Versions/A" if mac else framework
    plist = (contents / "Resources/Info.plist") if mac else (framework / "Info.plist")
    for part in ("MotpRustFFI", "Headers/MotpRustFFI.h", "Headers/MotpCoreFFI.h", "Modules/module.modulemap"):
        need((contents / part).is_file(), f"{framework}: {part} missing")
    need(plist.is_file(), f"{framework}: Info.plist missing")
    privacy = (contents / "Resources/PrivacyInfo.xcprivacy") if mac else (framework / "PrivacyInfo.xcprivacy")
    need(privacy.is_file(), f"{framework}: PrivacyInfo.xcprivacy missing")
    if mac:
        for link in ("MotpRustFFI", "Headers", "Modules", "Resources", "Versions/Current"):
            need((framework / link).is_symlink(), f"{framework}: {link} is not a symlink")
    modulemap = (contents / "Modules/module.modulemap").read_text()
    need("framework module MotpRustFFI" in modulemap, "module map is not a framework module")
    need("_Builtin_" not in modulemap, "module map names clang builtin modules")
    for header in ("MotpRustFFI.h", "MotpCoreFFI.h"):
        need(f'header "{header}"' in modulemap, f"module map lacks {header}")
    need("<string>9.8.7</string>" in plist.read_text(), "Info.plist lacks the crate version")
    binaries[(contents / "MotpRustFFI").read_text().split()[0]] = (contents / "MotpRustFFI").read_text().split()
expected = {
    "aarch64-apple-ios": ["aarch64-apple-ios"],
    "aarch64-apple-ios-sim": ["aarch64-apple-ios-sim", "x86_64-apple-ios"],
    "aarch64-apple-darwin": ["aarch64-apple-darwin", "x86_64-apple-darwin"],
}
need(binaries == expected, f"slices hold the wrong libraries: {binaries}")

archive = build / "MotpRustFFI.xcframework.zip"
need(archive.is_file(), "no release zip")
if archive.is_file():
    names = zipfile.ZipFile(archive).namelist()
    need(all(n.startswith("MotpRustFFI.xcframework/") for n in names), "zip root is not the XCFramework")
    checksum = hashlib.sha256(archive.read_bytes()).hexdigest()
    manifest = (repo / "Package.swift").read_text()
    need(f'let releaseChecksum = "{checksum}"' in manifest, "Package.swift checksum not rewritten")
    need('let releaseTag = "9.8.7"' in manifest, "Package.swift tag not rewritten")
    need((build / "MotpRustFFI.xcframework.zip.checksum").read_text().strip() == checksum, "checksum file wrong")
need(not (build / "stage").exists(), "staging directory left behind")

if problems:
    print("\n".join(f"build-xcframework dry run: {p}" for p in problems), file=sys.stderr)
    sys.exit(1)
print("ios/build-xcframework.sh: dry run with stubbed Apple tools produced the expected XCFramework")
PY

# 4. The workflows
python3 - <<'PY2'
import re, sys, yaml
problems = []
ci = yaml.safe_load(open(".github/workflows/ios.yml"))
job = ci["jobs"]["swift-package"]
steps = job["steps"]
runs = "\n".join(step.get("run", "") for step in steps)
xcode = [s.get("with", {}).get("xcode-version") for s in steps if "setup-xcode" in s.get("uses", "")]
manifest = open("Package.swift").read()
problems += [m for m, ok in [
    ("ios.yml: not on macOS", job["runs-on"].startswith("macos")),
    ("ios.yml: does not run ios/build-xcframework.sh", "ios/build-xcframework.sh" in runs),
    ("ios.yml: does not run swift test", "swift test" in runs),
    ("ios.yml: no xcodebuild test on a simulator", re.search(r"xcodebuild test .*\n?.*platform=iOS Simulator", runs)),
    ("ios.yml: not the oldest Xcode for tools 6.0 (16.0)", xcode == ["16.0"] and manifest.startswith("// swift-tools-version:6.0")),
] if not ok]
release = yaml.safe_load(open(".github/workflows/ios-release.yml"))
rjob = release["jobs"]["release"]
rruns = "\n".join(step.get("run", "") for step in rjob["steps"])
problems += [m for m, ok in [
    ("ios-release.yml: not on macOS", rjob["runs-on"].startswith("macos")),
    ("ios-release.yml: does not build with --release", "ios/build-xcframework.sh --release" in rruns),
    ("ios-release.yml: no guard against the zero checksum", "releaseChecksum" in rruns),
    ("ios-release.yml: does not tag the commit with the checksum", 'git tag -a "$VERSION"' in rruns and "git add Package.swift" in rruns),
    ("ios-release.yml: does not attach the zip", "gh release create" in rruns and "MotpRustFFI.xcframework.zip" in rruns),
] if not ok]
if problems:
    sys.exit("\n".join(problems))
print(".github/workflows/ios.yml (Xcode 16.0, swift test, xcodebuild test on a simulator) and ios-release.yml parse and do their jobs")
PY2
