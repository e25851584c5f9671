plugins {
    id("com.android.application")
}

android {
    namespace = "dev.motp.sample"
    compileSdk = 36

    defaultConfig {
        applicationId = "dev.motp.sample"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
        // Where the sample's verifications go: `motp serve` on the dev machine,
        // seen from the emulator. Override with -PmotpServerUrl=… -PmotpKey=pk_…
        buildConfigField("String", "MOTP_SERVER_URL", "\"${providers.gradleProperty("motpServerUrl").getOrElse("http://10.0.2.2:8080")}\"")
        buildConfigField("String", "MOTP_PUBLISHABLE_KEY", "\"${providers.gradleProperty("motpKey").getOrElse("pk_test_sample")}\"")
    }

    buildFeatures {
        buildConfig = true
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    implementation(project(":motp"))
    implementation("androidx.activity:activity-ktx:1.10.1")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.9.4")
    // VerifyViewModel: viewModelScope and SavedStateHandle.
    implementation("androidx.lifecycle:lifecycle-viewmodel-ktx:2.9.4")
    implementation("androidx.lifecycle:lifecycle-viewmodel-savedstate:2.9.4")
}
