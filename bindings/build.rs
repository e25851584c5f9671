//! Link flags of the shipped library, `libmotp_ffi.so`, in the very build
//! that cargo-ndk runs for the AAR (plain `cargo build --release`), and on
//! the Linux host, whose library stands in for the phone's in size figures
//! and JVM tests. They touch only this crate's cdylib link, so every
//! dependency's build and the shared target cache stay as they are.
//!
//! Both linkers are lld (the Android NDK's clang, and rustc's own on
//! x86_64 Linux):
//! - `--icf=all`: identical code folding; generic code instantiated many
//!   times over folds into one copy (most of `.text` and `.eh_frame` saved);
//! - packed relocations: `.rela.dyn` shrinks from hundreds of KB to a few.
//!   Android's own format (`--pack-dyn-relocs=android`) on Android, whose
//!   loader reads it from API 23 (the minSdk is 26; RELR would need 28);
//!   RELR (`-z pack-relative-relocs`) on Linux, read by glibc 2.36 and later;
//! - 16 KB page alignment (`-z max-page-size=16384`), which devices with
//!   16 KB pages require from Android 15 on (Google Play since November
//!   2025), and which 4 KB-page devices load as well.
//!
//! Apple targets ship this cdylib as a dynamic framework (the XCFramework;
//! why: ios/README.md, "Static or dynamic"); ios/build-xcframework.sh sets
//! its `@rpath` install name afterwards: nothing to add here.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Size flags for what ships; debug builds keep plain links for debugging.
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let packed_relocations = match os.as_str() {
        "android" => "-Wl,--pack-dyn-relocs=android",
        "linux" => "-Wl,-z,pack-relative-relocs",
        _ => return,
    };
    for flag in [
        "-Wl,--icf=all",
        packed_relocations,
        "-Wl,-z,max-page-size=16384",
    ] {
        println!("cargo:rustc-cdylib-link-arg={flag}");
    }
}
