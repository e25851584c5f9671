package dev.motp.android

import android.Manifest
import android.provider.CallLog
import android.telephony.SubscriptionManager
import dev.motp.core.VerificationState
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** Both detection paths, end to end from the platform event to the core. */
@RunWith(RobolectricTestRunner::class)
@Config(shadows = [RecordingTelecomManager::class])
class CallDetectionTest {
    private val phone = ShellHarness()

    @After
    fun tearDown() = phone.close()

    @Test
    fun `a ringing broadcast with a number reaches the core and verifies`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.ring("020 7946 0123")

        assertEquals(VerificationState.Verified("tok_447700900123"), phone.awaitVerified(verification))
        val call = phone.server.calls.single()
        assertEquals("020 7946 0123", call.number)
        assertEquals(phone.startedAt, call.observedAt.toEpochMilli())
        assertEquals(ObservedCall.Source.RINGING, verification.observedCalls.single().source)
    }

    @Test
    fun `a call-log row inserted through the provider is detected`() {
        // The call log alone is enough: no READ_PHONE_STATE, so no broadcast.
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        assertEquals(0, phone.phoneStateReceivers())

        phone.logCall("+442079460123", phone.startedAt + 4_000, CallLog.Calls.REJECTED_TYPE)

        phone.awaitVerified(verification)
        val call = phone.server.calls.single()
        assertEquals("+442079460123", call.number)
        assertEquals(phone.startedAt + 4_000, call.observedAt.toEpochMilli())
        assertEquals(ObservedCall.Source.CALL_LOG, verification.observedCalls.single().source)
    }

    @Test
    fun `the call log is bounded by the provider's limit, never by SQL text`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.logCall("+442079460123", phone.startedAt + 1_000)
        phone.awaitVerified(verification)

        assertTrue(phone.callLog.queries.isNotEmpty())
        for (query in phone.callLog.queries) {
            assertEquals("10", query.uri.getQueryParameter(CallLog.Calls.LIMIT_PARAM_KEY))
            assertEquals(10, query.bundleLimit)
            assertEquals("date DESC", query.sortOrder)
        }
    }

    @Test
    fun `rows older than the verification are ignored`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        // The right number, but from before this verification: a stale code.
        phone.logCall("+442079460123", phone.startedAt - 60_000)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        // Written late but dated earlier, and an outgoing call: both ignored too.
        phone.logCall("+442079460123", phone.startedAt - 1)
        phone.logCall("+442079460123", phone.startedAt + 500, CallLog.Calls.OUTGOING_TYPE)
        phone.logCall("+442079460123", phone.startedAt + 2_000, CallLog.Calls.INCOMING_TYPE)

        phone.awaitVerified(verification)
        assertEquals(listOf(phone.startedAt + 2_000), phone.server.calls.map { it.observedAt.toEpochMilli() })
    }

    @Test
    fun `every sighting reaches the core, the same call seen both ways included`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        // A call that is not ours (wrong code digits), first ringing in national
        // form, then logged in E.164 form when it ends: the core decides that
        // the second sighting is the same call, not the shell.
        phone.ring("02079460999")
        phone.waitUntil { phone.server.calls.size == 1 }
        phone.logCall("+442079460999", phone.startedAt + 3_000)
        phone.waitUntil { phone.server.calls.size == 2 }
        // Then the verification call, only in the log (e.g. the broadcast was late).
        phone.logCall("+442079460123", phone.startedAt + 20_000)

        phone.awaitVerified(verification)
        assertEquals(
            listOf("02079460999", "+442079460999", "+442079460123"),
            phone.server.calls.map { it.number },
        )
        assertEquals(
            listOf(ObservedCall.Source.RINGING, ObservedCall.Source.CALL_LOG, ObservedCall.Source.CALL_LOG),
            verification.observedCalls.map { it.source },
        )
    }

    @Test
    fun `a call-log row is handed over once, however often the log is re-read`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.logCall("+447700900999", phone.startedAt + 1_000)
        phone.waitUntil { phone.server.calls.size == 1 }
        // Each change of the log re-reads every row since the start.
        phone.logCall("+447700900998", phone.startedAt + 2_000)
        phone.waitUntil { phone.server.calls.size == 2 }
        phone.logCall("+442079460123", phone.startedAt + 3_000)

        phone.awaitVerified(verification)
        // The last two may reach the core in either order.
        assertEquals(
            listOf("+442079460123", "+447700900998", "+447700900999"),
            phone.server.calls.map { it.number }.sorted(),
        )
    }

    @Test
    fun `a call on the second SIM is seen on the ringing path`() {
        phone.grantAutomatic()
        phone.dualSim()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.ring("+442079460123") { putExtra(SubscriptionManager.EXTRA_SLOT_INDEX, 1) }

        phone.awaitVerified(verification)
        assertEquals("+442079460123", phone.server.calls.single().number)
    }

    @Test
    fun `calls on either SIM are seen on both paths`() {
        phone.grantAutomatic()
        phone.dualSim()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        // Before API 30 the broadcast names the SIM by subscription under "subscription".
        phone.ring("+442079460999") { putExtra("subscription", 7) }
        phone.waitUntil { phone.server.calls.size == 1 }
        // The call log holds the rows of every SIM (phone_account_id 6: the first).
        phone.logCall("+442079460123", phone.startedAt + 30_000, phoneAccountId = "6")

        phone.awaitVerified(verification)
        assertEquals(listOf("+442079460999", "+442079460123"), phone.server.calls.map { it.number })
    }

    @Test
    fun `a call that rings before the server answered is delivered once it has`() {
        phone.grantAutomatic()
        val answer = kotlinx.coroutines.CompletableDeferred<Unit>()
        phone.server.answer = answer
        val verification = phone.start()

        phone.ring("+442079460123")
        assertTrue(phone.server.calls.isEmpty())
        answer.complete(Unit)

        phone.awaitVerified(verification)
        assertEquals(1, phone.server.calls.size)
    }

    @Test
    fun `without ANSWER_PHONE_CALLS the call rings out`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        assertFalse(verification.automation.endCall)

        phone.phoneState(android.telephony.TelephonyManager.EXTRA_STATE_RINGING, "+442079460123")

        phone.awaitVerified(verification)
        assertEquals(0, phone.endedCalls)
        assertEquals(1, phone.server.calls.size)
    }
}
