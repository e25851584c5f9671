// Versions in one place. AGP 9 compiles Kotlin itself ("built-in Kotlin");
// the Kotlin Gradle plugin on the classpath pins the compiler to the version
// the host tests and the bindings' JVM tests use.
buildscript {
    dependencies {
        classpath("org.jetbrains.kotlin:kotlin-gradle-plugin:2.3.21")
    }
}

plugins {
    id("com.android.library") version "9.2.1" apply false
    id("com.android.application") version "9.2.1" apply false
}
