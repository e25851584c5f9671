#!/usr/bin/env bash
# Builds ios/build/MotpRustFFI.xcframework: the motp-ffi Rust library for
# iPhone, the iOS simulator (arm64 + x86_64) and the Mac (arm64 + x86_64,
# so `swift test` runs on a Mac), each slice a dynamic framework (the
# cdylib, see "Static or dynamic" in ios/README.md) with the two UniFFI C
# headers, a framework module map and the SDK's privacy manifest.
#
#   ios/build-xcframework.sh                   build the XCFramework
#   ios/build-xcframework.sh --zip             ... and zip it with its SwiftPM checksum
#   ios/build-xcframework.sh --release         ... and write tag + checksum into Package.swift
#                            [--tag TAG]       (the tag defaults to the crate's version)
#   ios/build-xcframework.sh --update-bindings regenerate bindings/generated instead of
#                                              failing when they are stale
#
# Then: MOTP_LOCAL_FRAMEWORK=1 swift test
#
# Needs macOS with Xcode (xcodebuild, lipo, strip, install_name_tool, ditto,
# swift) and rustup. MOTP_CODESIGN_IDENTITY, when set, signs the XCFramework.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091  # scripts/lib/cargo.sh, relative to the repository root
source scripts/lib/cargo.sh  # MOTP_CARGO_VENDOR: cargo offline from vendored crates

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

zip=false
release=false
update_bindings=false
tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --zip) zip=true ;;
    --release) zip=true; release=true ;;
    --tag) tag="$2"; shift ;;
    --update-bindings) update_bindings=true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

if [ "$(uname -s)" != Darwin ]; then
  echo "error: building the XCFramework needs macOS with Xcode" >&2
  exit 1
fi
for tool in cargo xcodebuild lipo strip install_name_tool ditto swift; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

crate=motp-ffi
lib=libmotp_ffi
module=MotpRustFFI
headers=("bindings/generated/swift/$module.h" "bindings/generated/swift/MotpCoreFFI.h")
privacy=ios/Sources/Motp/PrivacyInfo.xcprivacy
build=ios/build
stage="$build/stage"
xcframework="$build/$module.xcframework"

device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
macs=(aarch64-apple-darwin x86_64-apple-darwin)
targets=("$device" "${simulators[@]}" "${macs[@]}")

# Keep in step with `platforms` in Package.swift.
ios_min=15.0
macos_min=12.0
export IPHONEOS_DEPLOYMENT_TARGET="$ios_min"
export IPHONESIMULATOR_DEPLOYMENT_TARGET="$ios_min"
export MACOSX_DEPLOYMENT_TARGET="$macos_min"

step() { printf '\n==> %s\n' "$*"; }

# The crate's version, e.g. 0.1.0 (pkgid ends in `#motp-ffi@0.1.0` or `#0.1.0`).
version="$(cargo pkgid -p "$crate" | sed 's/.*[#@]//')"

if command -v rustup >/dev/null; then
  step "rust targets"
  rustup target add "${targets[@]}"
fi

# Release profile (root Cargo.toml): size-optimised, panic = "unwind",
# symbols kept so uniffi-bindgen can read the metadata. Strip afterwards.
# The cdylib (libmotp_ffi.dylib) is what ships: a dynamic framework exports
# only the UniFFI C functions, keeps Rust's std and its personality routine
# inside its own image (no symbol clash with another Rust SDK, no "too many
# personality routines" in an app mixing C++, Objective-C and Swift), and
# panics still unwind into UniFFI errors.
for target in "${targets[@]}"; do
  step "cargo build --release --target $target"
  cargo build --locked --release -p "$crate" --lib --target "$target"
done

# Library mode, from the unstripped Mac build of the very code in the
# XCFramework: the committed Swift must be what this library exports.
host_dylib="target/aarch64-apple-darwin/release/$lib.dylib"
if $update_bindings; then
  step "regenerate bindings from $host_dylib"
  bash scripts/generate-bindings.sh --lib "$host_dylib"
else
  step "check bindings against $host_dylib"
  bash scripts/generate-bindings.sh --check --lib "$host_dylib"
fi

step "strip and merge the dynamic libraries"
rm -rf "$stage" "$xcframework"
mkdir -p "$stage/libs"
for target in "${targets[@]}"; do
  cp "target/$target/release/$lib.dylib" "$stage/libs/$target.dylib"
  # Debug and local symbols only: the exported symbols are its API.
  strip -S -x "$stage/libs/$target.dylib"
done
# Plain loops, no mapfile: macOS still ships bash 3.2.
simulator_libs=()
for target in "${simulators[@]}"; do simulator_libs+=("$stage/libs/$target.dylib"); done
mac_libs=()
for target in "${macs[@]}"; do mac_libs+=("$stage/libs/$target.dylib"); done
lipo -create "${simulator_libs[@]}" -output "$stage/libs/ios-simulator.dylib"
lipo -create "${mac_libs[@]}" -output "$stage/libs/macos.dylib"
for merged in ios-simulator macos; do lipo -info "$stage/libs/$merged.dylib"; done

# A framework per slice rather than -library/-headers: headers and module
# map then stay inside the bundle, so two XCFrameworks in one app cannot
# collide on include/module.modulemap, and explicit-module builds find the
# module without searching subdirectories. The binary's install name is the
# framework's, so the app's embedded copy is found through @rpath.
write_module_map() {
  # Both crates' UniFFI headers in one C module: motp-ffi's and motp-core's
  # (the core marks its own types for the bindings).
  cat >"$1" <<EOF
framework module $module {
    header "$module.h"
    header "MotpCoreFFI.h"
    export *
}
EOF
}

write_info_plist() { # file platform min-os-key min-os
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleDevelopmentRegion</key>
	<string>en</string>
	<key>CFBundleExecutable</key>
	<string>$module</string>
	<key>CFBundleIdentifier</key>
	<string>dev.motp.$module</string>
	<key>CFBundleInfoDictionaryVersion</key>
	<string>6.0</string>
	<key>CFBundleName</key>
	<string>$module</string>
	<key>CFBundlePackageType</key>
	<string>FMWK</string>
	<key>CFBundleShortVersionString</key>
	<string>$version</string>
	<key>CFBundleVersion</key>
	<string>$version</string>
	<key>CFBundleSupportedPlatforms</key>
	<array>
		<string>$2</string>
	</array>
	<key>$3</key>
	<string>$4</string>
</dict>
</plist>
EOF
}

make_framework() { # slice-dir platform static-lib
  local framework="$1/$module.framework" platform="$2" library="$3" contents install_name
  mkdir -p "$1"
  if [ "$platform" = MacOSX ]; then
    # macOS bundles are versioned: the top level holds only symlinks.
    contents="$framework/Versions/A"
    mkdir -p "$contents/Headers" "$contents/Modules" "$contents/Resources"
    ln -s A "$framework/Versions/Current"
    for item in "$module" Headers Modules Resources; do
      ln -s "Versions/Current/$item" "$framework/$item"
    done
    write_info_plist "$contents/Resources/Info.plist" MacOSX LSMinimumSystemVersion "$macos_min"
    cp "$privacy" "$contents/Resources/"
    install_name="@rpath/$module.framework/Versions/A/$module"
  else
    contents="$framework"
    mkdir -p "$contents/Headers" "$contents/Modules"
    write_info_plist "$contents/Info.plist" "$platform" MinimumOSVersion "$ios_min"
    cp "$privacy" "$contents/"
    install_name="@rpath/$module.framework/$module"
  fi
  cp "$library" "$contents/$module"
  install_name_tool -id "$install_name" "$contents/$module"
  cp "${headers[@]}" "$contents/Headers/"
  write_module_map "$contents/Modules/module.modulemap"
}

step "assemble $xcframework"
make_framework "$stage/ios" iPhoneOS "$stage/libs/$device.dylib"
make_framework "$stage/ios-simulator" iPhoneSimulator "$stage/libs/ios-simulator.dylib"
make_framework "$stage/macos" MacOSX "$stage/libs/macos.dylib"
xcodebuild -create-xcframework \
  -framework "$stage/ios/$module.framework" \
  -framework "$stage/ios-simulator/$module.framework" \
  -framework "$stage/macos/$module.framework" \
  -output "$xcframework"
rm -rf "$stage"
if [ -n "${MOTP_CODESIGN_IDENTITY:-}" ]; then
  step "sign $xcframework"
  codesign --timestamp -s "$MOTP_CODESIGN_IDENTITY" "$xcframework"
fi
du -sh "$xcframework"

if $zip; then
  step "zip"
  archive="$build/$module.xcframework.zip"
  rm -f "$archive"
  # The XCFramework must sit at the root of the archive for SwiftPM.
  (cd "$build" && ditto -c -k --sequesterRsrc --keepParent "$module.xcframework" "$module.xcframework.zip")
  checksum="$(swift package compute-checksum "$archive")"
  echo "$checksum" >"$archive.checksum"
  echo "$archive"
  echo "checksum $checksum"
fi

if $release; then
  step "Package.swift"
  tag="${tag:-$version}"
  manifest="$ROOT/Package.swift"
  sed -E \
    -e "s/^(let releaseTag = \")[^\"]*(\")/\1$tag\2/" \
    -e "s/^(let releaseChecksum = \")[^\"]*(\")/\1$checksum\2/" \
    "$manifest" >"$manifest.new"
  mv "$manifest.new" "$manifest"
  grep -q "^let releaseTag = \"$tag\"$" "$manifest"
  grep -q "^let releaseChecksum = \"$checksum\"$" "$manifest"
  cat <<EOF
Package.swift now points at release $tag. Next:
  1. commit Package.swift and tag the commit $tag;
  2. attach $archive to the GitHub release $tag
     (asset name $module.xcframework.zip).
EOF
fi
