// The Android side of mOTP: the `motp` library (AAR) and a small sample app.
// Needs the Android SDK and NDK, cargo-ndk and the Rust Android targets; see
// README.md. Not built on the project's CI machines (no Android toolchain):
// the shell's Kotlin is compiled and tested there by host-tests/ instead.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "motp-android"
include(":motp", ":sample")
