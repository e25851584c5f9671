package dev.motp.sdk

import dev.motp.core.CallMatch
import dev.motp.core.CallVisibility
import dev.motp.core.VerificationState
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * The whole path with a real call: app (Kotlin) -> libmotp_ffi.so -> HTTP
 * -> motp serve -> SIP over UDP -> the phone ([LoopbackPhone]) -> the
 * caller number back into the SDK, both the Android way (zero typing) and
 * the iOS way (the user types the last digits).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SipFlowTest {
    private val server = TestServer.sip
    private lateinit var phone: LoopbackPhone

    @BeforeAll
    fun startPhone() {
        phone = LoopbackPhone(TestServer.phonePort)
    }

    @AfterAll
    fun stopPhone() = phone.close()

    @Test
    fun `the Android way - the ringing number verifies with no typing`() = runTest {
        val recorder = StateRecorder()
        val phoneNumber = freshPhoneNumber()
        val verification = server.client().startVerification(phoneNumber, CallVisibility.NUMBERS, recorder)

        val call = phone.awaitCallTo(phoneNumber)
        assertTrue(call.number.startsWith(verification.caller().prefix), call.number)
        val outcome = verification.onIncomingCall(call.number, call.observedAt)

        val token = assertIs<CallMatch.Verified>(outcome).token
        assertEquals(VerificationState.Verified(token), recorder.awaitFinal())
    }

    @Test
    fun `the iOS way - the user types the last digits of the number`() = runTest {
        val phoneNumber = freshPhoneNumber()
        val verification = server.client().startVerification(phoneNumber, CallVisibility.HIDDEN)
        assertIs<VerificationState.ManualEntry>(verification.state())

        val call = phone.awaitCallTo(phoneNumber)
        val typed = codeOf(call.number, verification.caller().codeLength)

        assertTrue(verification.submitCode(typed).isNotEmpty())
        assertIs<VerificationState.Verified>(verification.state())
    }
}
