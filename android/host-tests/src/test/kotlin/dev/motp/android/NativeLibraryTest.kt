package dev.motp.android

import dev.motp.core.CallerInfo
import dev.motp.core.MatchRejection
import dev.motp.core.MotpConfig
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import dev.motp.core.CallerIdMatch
import dev.motp.sdk.LogLevel
import dev.motp.sdk.MissedCallMatcher
import dev.motp.sdk.MotpLogger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import dev.motp.sdk.setLogLevel
import dev.motp.sdk.setLogger
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.io.File

/**
 * The generated bindings, compiled into the same source set as the shell,
 * load the real host `libmotp_ffi.so` through JNA inside the Robolectric
 * sandbox. Loading runs UniFFI's contract-version and checksum checks, so
 * this fails when the committed bindings and the library drift apart.
 */
@RunWith(RobolectricTestRunner::class)
class NativeLibraryTest {
    @Before
    fun libraryBuilt() {
        val dir = System.getProperty("motp.lib.dir").orEmpty()
        assumeTrue("build it: cargo build -p motp-ffi", File(dir, "libmotp_ffi.so").isFile)
    }

    @Test
    fun `the real library loads in the Android sandbox`() {
        setLogLevel(LogLevel.WARN)
        val logger = object : MotpLogger {
            override fun log(level: LogLevel, target: String, message: String) = Unit
        }
        setLogger(logger, LogLevel.INFO)
        setLogger(null, LogLevel.WARN)
    }

    @Test
    fun `the real matcher reads the presentations Android gives`() {
        MissedCallMatcher(CallerInfo("+442079460", 3u), "GB").use { matcher ->
            assertEquals(CallerIdMatch.Code("123"), matcher.matchNumber("020 7946 0123"))
            assertEquals(CallerIdMatch.Code("123"), matcher.matchNumber("+442079460123"))
            assertEquals(CallerIdMatch.Rejected(MatchRejection.WITHHELD), matcher.matchNumber("-2"))
            assertEquals(CallerIdMatch.Rejected(MatchRejection.WRONG_PREFIX), matcher.matchNumber("+447700900123"))
        }
    }

    @Test
    fun `the production path reaches the real client and reports its errors as states`() {
        val app = org.robolectric.RuntimeEnvironment.getApplication()
        val refused = runCatching { Motp(app, MotpConfig("http://127.0.0.1:1", "sk_live_secret", "GB")) }
        assertTrue(refused.exceptionOrNull() is MotpException.InvalidInput) // a secret key in an app

        // A loopback port nobody listens on: the real HTTP client fails at once.
        val port = java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
        val motp = Motp(app, MotpConfig("http://127.0.0.1:$port", "pk_test_android", "GB"))
        val scope = CoroutineScope(SupervisorJob())
        try {
            val verification = motp.start("+447700900123", scope)
            val state = runBlocking { withTimeout(20_000) { verification.state.first { it.isFinal() } } }
            val error = (state as VerificationState.Failed).error
            assertTrue("$error", error is MotpException.Network || error is MotpException.Timeout)
            assertFalse(verification.isObserving)
        } finally {
            scope.cancel()
        }
    }

    @Test
    fun `core errors are exceptions an app can catch by kind`() {
        val error: Exception = MotpException.WrongCode(2u)
        assertEquals(2u, (error as MotpException.WrongCode).attemptsLeft)
    }
}
