package dev.motp.android

import android.Manifest
import android.telephony.TelephonyManager.EXTRA_STATE_IDLE
import android.telephony.TelephonyManager.EXTRA_STATE_OFFHOOK
import android.telephony.TelephonyManager.EXTRA_STATE_RINGING
import dev.motp.core.VerificationState
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/**
 * Item 1: only the flash call is ended, and only when it is the only call.
 * The real [CallTerminator] runs; Robolectric's Telecom shadow counts
 * `endCall()` and its Telephony shadow holds the call state.
 */
@RunWith(RobolectricTestRunner::class)
@Config(shadows = [RecordingTelecomManager::class])
class FlashCallTest {
    private val phone = ShellHarness()

    @After
    fun tearDown() = phone.close()

    private fun startWithEndCall(): MotpVerification {
        phone.grantAutomatic()
        phone.grant(Manifest.permission.ANSWER_PHONE_CALLS)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        return verification
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `a flash call alone is ended once`() {
        val verification = startWithEndCall()
        assertTrue(verification.automation.endCall)

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        phone.waitUntil { phone.endedCalls > 0 }
        phone.phoneState(EXTRA_STATE_IDLE)
        assertEquals(1, phone.endedCalls)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `an active call plus an incoming flash call ends nothing`() {
        val verification = startWithEndCall()
        // The user is on a call; the flash call arrives as call waiting.
        phone.phoneState(EXTRA_STATE_OFFHOOK, "+447700900555")

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        Thread.sleep(100)
        assertEquals(0, phone.endedCalls)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `a call already active when the verification starts is never cut`() {
        // Off hook before the receiver was registered: no broadcast tells it, the state does.
        phone.phoneState(EXTRA_STATE_OFFHOOK)
        val verification = startWithEndCall()

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        Thread.sleep(100)
        assertEquals(0, phone.endedCalls)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `after the other call ends, a lone flash call is ended`() {
        val verification = startWithEndCall()
        phone.phoneState(EXTRA_STATE_OFFHOOK, "+447700900555")
        phone.phoneState(EXTRA_STATE_IDLE)

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        phone.waitUntil { phone.endedCalls > 0 }
        assertEquals(1, phone.endedCalls)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `somebody else's ringing call is never ended`() {
        val verification = startWithEndCall()

        phone.phoneState(EXTRA_STATE_RINGING, "+447700900999")
        phone.waitUntil { phone.server.calls.size == 1 }
        phone.phoneState(EXTRA_STATE_IDLE)
        Thread.sleep(100)

        assertEquals(0, phone.endedCalls)
        assertEquals(VerificationState.AwaitingCall, verification.state.value)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `a call no longer ringing when matched is not ended`() {
        val verification = startWithEndCall()
        // The matched number arrives from the call log after the call ended.
        phone.logCall("+442079460123", phone.startedAt + 1_000)

        phone.awaitVerified(verification)
        Thread.sleep(100)
        assertEquals(0, phone.endedCalls)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35])
    fun `without ANSWER_PHONE_CALLS nothing is ended`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        assertFalse(verification.automation.endCall)

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        assertEquals(0, phone.endedCalls)
    }

    @Test
    @Config(sdk = [26])
    fun `below API 28 calls cannot be ended and ring out`() {
        val verification = startWithEndCall()
        assertFalse(verification.automation.endCall)

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        assertEquals(0, phone.endedCalls)
    }
}
