plugins {
    id("com.android.library")
    `maven-publish`
}

val motpVersion = providers.gradleProperty("motp.version").get()
// The repository root: Cargo workspace, generated bindings.
val repoRoot = rootDir.parentFile
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val jniLibsDir = layout.buildDirectory.dir("generated/rust/jniLibs")

android {
    namespace = "dev.motp.android"
    compileSdk = 35

    defaultConfig {
        // 26: the bindings' timestamps and timeouts are java.time (Instant,
        // Duration), native from API 26, so apps need no core-library
        // desugaring; the Bundle query of the call log and ANSWER_PHONE_CALLS
        // start there too. API 26+ is about 97 % of active devices.
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += rustAbis }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets {
        getByName("main") {
            // UniFFI's Kotlin, generated from the host library and committed
            // (scripts/generate-bindings.sh; the test stage checks it is current).
            kotlin.srcDir(repoRoot.resolve("bindings/generated/kotlin"))
            jniLibs.srcDir(jniLibsDir)
        }
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }

    lint {
        // UniFFI's cleaner picks java.lang.ref.Cleaner (API 33) at run time
        // only when the class exists; lint cannot see the guard.
        disable += "NewApi"
    }
}

// libmotp_ffi.so for every ABI, with cargo-ndk (cargo install cargo-ndk;
// rustup target add aarch64-linux-android armv7-linux-androideabi
// x86_64-linux-android). Release profile: size-optimised, panic = unwind;
// AGP strips the symbols when it packages the AAR.
val cargoNdk by tasks.registering(Exec::class) {
    group = "build"
    description = "Builds libmotp_ffi.so for ${rustAbis.joinToString()} with cargo-ndk."
    workingDir = repoRoot
    inputs.dir(repoRoot.resolve("core/src"))
    inputs.dir(repoRoot.resolve("bindings/src"))
    inputs.file(repoRoot.resolve("Cargo.lock"))
    outputs.dir(jniLibsDir)
    val args = mutableListOf("cargo", "ndk")
    rustAbis.forEach { args += listOf("-t", it) }
    args += listOf(
        "--platform", "26",
        "-o", jniLibsDir.get().asFile.absolutePath,
        "build", "--release", "--locked", "-p", "motp-ffi",
    )
    commandLine(args)
}

// Before AGP merges the jniLibs folders of any variant.
tasks.configureEach {
    if (name.startsWith("merge") && name.endsWith("JniLibFolders")) dependsOn(cargoNdk)
}

dependencies {
    // The UniFFI bindings call into libmotp_ffi.so through JNA; the AAR
    // carries JNA's own native dispatch library for every ABI.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // ActivityResultContract for RequestMotpPermissions.
    api("androidx.activity:activity:1.10.1")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "dev.motp"
            artifactId = "motp-android"
            version = motpVersion
            afterEvaluate { from(components["release"]) }
            pom {
                name.set("mOTP for Android")
                description.set("Phone-number verification by missed call: the SDK reads the calling number, the user types nothing.")
                url.set("https://github.com/motp/motp")
                licenses {
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0")
                    }
                }
            }
        }
    }
}
