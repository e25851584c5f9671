// swift-tools-version:6.0
//
// The mOTP iOS SDK as a Swift package. It lives at the repository root
// because SwiftPM resolves a package by git URL and reads `Package.swift`
// from the root of that repository; the sources stay under ios/ and
// bindings/.
//
// Tools 6.0 (Xcode 16 or later, or a Swift 6 toolchain on Linux), Swift 6
// language mode: strict concurrency checking for every hand-written target.
// The generated UniFFI target is compiled in Swift 5 mode: it is not our
// code to fix, and it carries its own Sendable annotations.
//
// Products, pick what you need:
//   Motp         the verifier over the Rust core: async/await, state
//                stream, paste handling, number display. No UI, no CallKit.
//   MotpUI       the SwiftUI code field (MotpCodeField) and its VoiceOver text.
//   MotpCallKit  the opt-in nudge: CallArrivalObserver (CXCallObserver).
//                Only apps that add this product link CallKit.
//
// Layers under them:
//   MotpRustFFI  the Rust core (motp-ffi) as a C module: on Apple platforms
//                a dynamic XCFramework; on Linux a system library whose
//                module map links libmotp_ffi from the linker's search path
//                (scripts/test.d/46-swift.sh builds it for the host)
//   MotpFFI      the UniFFI-generated Swift over it (bindings/generated/swift,
//                committed and kept current by scripts/generate-bindings.sh)

import Foundation
import PackageDescription

// Where MotpRustFFI comes from on Apple platforms.
// - Apps (the default): the release zip below, pinned by its checksum.
// - Development and CI: ios/build/MotpRustFFI.xcframework, built by
//   `ios/build-xcframework.sh`. Used when it exists next to this manifest
//   (a checkout that built it; a package resolved by URL never has it), or
//   when MOTP_LOCAL_FRAMEWORK=1 is in the environment.
// The release workflow (.github/workflows/ios-release.yml, via
// `ios/build-xcframework.sh --release`) writes releaseTag and
// releaseChecksum; do not edit them by hand. The zeros are the value
// between releases: scripts/test.d/45-ios.sh fails when a git tag named
// releaseTag exists while the checksum is zeros.
let releaseTag = "0.1.0"
let releaseChecksum = "0000000000000000000000000000000000000000000000000000000000000000"

let localFrameworkPath = "ios/build/MotpRustFFI.xcframework"
let useLocalFramework =
    Context.environment["MOTP_LOCAL_FRAMEWORK"] == "1"
    || FileManager.default.fileExists(atPath: Context.packageDirectory + "/" + localFrameworkPath)

let rustLibrary: Target
#if os(Linux)
// The host build of motp-ffi (libmotp_ffi.so): the module map in
// ios/Sources/MotpRustFFI lists both UniFFI headers and links `motp_ffi`.
// Point the linker at it: swift build -Xlinker -L<dir> (46-swift.sh does).
rustLibrary = .systemLibrary(name: "MotpRustFFI", path: "ios/Sources/MotpRustFFI")
#else
if useLocalFramework {
    // Must stay relative, or packages depending on a local checkout break.
    rustLibrary = .binaryTarget(name: "MotpRustFFI", path: localFrameworkPath)
} else {
    rustLibrary = .binaryTarget(
        name: "MotpRustFFI",
        url: "https://github.com/motp/motp/releases/download/\(releaseTag)/MotpRustFFI.xcframework.zip",
        checksum: releaseChecksum
    )
}
#endif

let package = Package(
    name: "Motp",
    platforms: [
        // iOS 15: SwiftUI @FocusState. macOS only so `swift test` runs on a Mac.
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "Motp", targets: ["Motp"]),
        .library(name: "MotpUI", targets: ["MotpUI"]),
        .library(name: "MotpCallKit", targets: ["MotpCallKit"]),
    ],
    targets: [
        rustLibrary,
        .target(
            name: "MotpFFI",
            dependencies: ["MotpRustFFI"],
            // The committed generator output, used in place: no copy to drift.
            // Its C headers are the MotpRustFFI module's (the XCFramework's
            // copies, or the Linux module map's references).
            path: "bindings/generated/swift",
            exclude: ["MotpRustFFI.h", "MotpCoreFFI.h"],
            // motp-ffi's surface and the core's types it uses, one module.
            sources: ["MotpFFI.swift", "MotpCore.swift"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .target(
            name: "Motp",
            dependencies: ["MotpFFI"],
            path: "ios/Sources/Motp",
            // What the SDK collects (the phone number, to verify it).
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
        .target(
            name: "MotpUI",
            dependencies: ["Motp"],
            path: "ios/Sources/MotpUI"
        ),
        .target(
            name: "MotpCallKit",
            dependencies: ["Motp"],
            path: "ios/Sources/MotpCallKit"
        ),
        .testTarget(
            name: "MotpTests",
            dependencies: ["Motp"],
            path: "ios/Tests/MotpTests"
        ),
        .testTarget(
            name: "MotpUITests",
            dependencies: ["MotpUI"],
            path: "ios/Tests/MotpUITests"
        ),
        .testTarget(
            name: "MotpCallKitTests",
            dependencies: ["MotpCallKit"],
            path: "ios/Tests/MotpCallKitTests"
        ),
        // Through the real Rust library against a running `motp serve`
        // (MOTP_SERVER_URL, MOTP_PUBLISHABLE_KEY, MOTP_SECRET_KEY; skipped
        // without them). scripts/test.d/46-swift.sh starts the server.
        .testTarget(
            name: "MotpEndToEndTests",
            dependencies: ["Motp"],
            path: "ios/Tests/MotpEndToEndTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
