package dev.motp.sdk

import dev.motp.core.CallVisibility
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** Against the server whose codes live 2 seconds and whose resends wait 60. */
class ExpiryTest {
    private val server = TestServer.shortLived

    @Test
    fun `a verification expires by itself, and its code no longer counts`() = runTest {
        val recorder = StateRecorder()
        val verification = server.client().startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)
        val caller = server.lastCaller(verification.id())
        assertTrue(verification.info().expiresAt.isBefore(Instant.now().plusSeconds(5)))

        assertEquals(VerificationState.Expired, recorder.awaitFinal(seconds = 15))

        assertEquals(VerificationState.Expired, verification.state())
        assertFailsWith<MotpException.Expired> { verification.submitCode(codeOf(caller, 4u)) }
    }

    @Test
    fun `a resend before resend_after is RateLimited without asking the server`() = runTest {
        val verification = server.client().startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        val error = assertFailsWith<MotpException.RateLimited> { verification.resend() }
        // 60 seconds, rounded up, plus at most a second of clock skew allowance.
        assertTrue(error.retryAfterSecs in 1uL..61uL, "retry after ${error.retryAfterSecs}")
    }
}
