// swift-tools-version:5.9
//
// The mOTP iOS SDK as a Swift package. It lives at the repository root
// because SwiftPM resolves a package by git URL and reads `Package.swift`
// from the root of that repository; the sources stay under ios/ and
// bindings/.
//
// Three layers:
//   MotpRustFFI  the Rust core compiled for Apple platforms (XCFramework)
//   MotpFFI      the UniFFI-generated Swift over it (bindings/generated/swift,
//                committed and kept current by scripts/generate-bindings.sh)
//   Motp         the hand-written Swift: async/await verifier, SwiftUI code
//                field, CallKit nudge (ios/Sources/Motp). Apps import this.

import PackageDescription

// Where MotpRustFFI comes from.
// - Apps (the default): the release zip below, pinned by its checksum.
// - Development and CI: ios/build/MotpRustFFI.xcframework, built by
//   `ios/build-xcframework.sh`. Set `useLocalFramework` to true, or run
//   SwiftPM with MOTP_LOCAL_FRAMEWORK=1 in the environment.
// `ios/build-xcframework.sh --release` rewrites releaseTag and
// releaseChecksum; do not edit them by hand.
let useLocalFramework = false
let releaseTag = "0.1.0"
let releaseChecksum = "0000000000000000000000000000000000000000000000000000000000000000"

let rustFramework: Target
if useLocalFramework || Context.environment["MOTP_LOCAL_FRAMEWORK"] == "1" {
    rustFramework = .binaryTarget(
        name: "MotpRustFFI",
        // Must stay relative, or packages depending on a local checkout break.
        path: "ios/build/MotpRustFFI.xcframework"
    )
} else {
    rustFramework = .binaryTarget(
        name: "MotpRustFFI",
        url: "https://github.com/motp/motp/releases/download/\(releaseTag)/MotpRustFFI.xcframework.zip",
        checksum: releaseChecksum
    )
}

let package = Package(
    name: "Motp",
    platforms: [
        // iOS 15: SwiftUI @FocusState. macOS only so `swift test` runs on a Mac.
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "Motp", targets: ["Motp"]),
    ],
    targets: [
        rustFramework,
        .target(
            name: "MotpFFI",
            dependencies: ["MotpRustFFI"],
            // The committed generator output, used in place: no copy to drift.
            // Its C headers ship inside the XCFramework instead, with one
            // module map for both (ios/build-xcframework.sh).
            path: "bindings/generated/swift",
            exclude: ["MotpRustFFI.h", "MotpCoreFFI.h"],
            // motp-ffi's surface and the core's types it uses, one module.
            sources: ["MotpFFI.swift", "MotpCore.swift"]
        ),
        .target(
            name: "Motp",
            dependencies: ["MotpFFI"],
            path: "ios/Sources/Motp"
        ),
        .testTarget(
            name: "MotpTests",
            dependencies: ["Motp"],
            path: "ios/Tests/MotpTests"
        ),
    ]
)
