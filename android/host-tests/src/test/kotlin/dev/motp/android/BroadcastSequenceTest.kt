package dev.motp.android

import android.Manifest
import android.os.Build
import android.provider.CallLog
import android.telephony.TelephonyManager.EXTRA_STATE_IDLE
import android.telephony.TelephonyManager.EXTRA_STATE_RINGING
import dev.motp.core.CallEvent
import dev.motp.core.ManualEntryReason
import dev.motp.core.VerificationState
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import java.util.concurrent.CopyOnWriteArrayList

/**
 * Item 6 and item 2: the phone-state broadcasts as each API level sends
 * them ([ShellHarness.phoneState]), with and without each permission; the
 * ringing nudge only where the number cannot be read; every re-read of the
 * call log; the core's call events.
 */
@RunWith(RobolectricTestRunner::class)
class BroadcastSequenceTest {
    private val phone = ShellHarness()
    private val p = Build.VERSION.SDK_INT >= Build.VERSION_CODES.P

    @After
    fun tearDown() = phone.close()

    private fun nudgesOf(verification: MotpVerification): CopyOnWriteArrayList<Int?> {
        val nudges = CopyOnWriteArrayList<Int?>()
        phone.scope.launch(Dispatchers.Unconfined) { verification.ringing.collect { nudges += it } }
        return nudges
    }

    @Test
    fun `with both permissions one ringing call is one sighting, whatever the level sends`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        val nudges = nudgesOf(verification)

        phone.phoneState(EXTRA_STATE_RINGING, "020 7946 0123")

        phone.awaitVerified(verification)
        val ringing = phone.broadcasts.filter { it.first == EXTRA_STATE_RINGING }.map { it.second }
        // API 28+: the copy without the number, then the copy with it; before: one copy.
        assertEquals(if (p) listOf(null, "020 7946 0123") else listOf("020 7946 0123"), ringing)
        assertEquals(listOf("020 7946 0123"), phone.server.calls.map { it.number })
        assertTrue("never a nudge at AUTOMATIC", nudges.isEmpty())
    }

    @Test
    fun `phone state alone reads the number below API 28 and nudges once from 28`() {
        phone.grant(Manifest.permission.READ_PHONE_STATE)
        phone.deny(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        val nudges = nudgesOf(verification)
        phone.awaitState(verification) { it !is VerificationState.Requesting }

        phone.phoneState(EXTRA_STATE_RINGING, "+442079460123")

        if (p) {
            assertEquals(AutomationLevel.RING_NUDGE, verification.automation.level)
            phone.waitUntil { nudges.size == 1 }
            // The AOSP broadcast names no SIM.
            assertEquals(listOf<Int?>(null), nudges.toList())
            assertEquals(listOf<Pair<String?, String?>>(EXTRA_STATE_RINGING to null), phone.broadcasts.toList())
            assertTrue(phone.server.calls.isEmpty())
            assertTrue(verification.state.value is VerificationState.ManualEntry)
        } else {
            assertEquals(AutomationLevel.AUTOMATIC, verification.automation.level)
            phone.awaitVerified(verification)
            assertTrue(nudges.isEmpty())
        }
    }

    @Test
    fun `call log alone receives no broadcast and reads the row`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        phone.deny(Manifest.permission.READ_PHONE_STATE)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.ringAndHangUp("+442079460123")
        assertTrue(phone.broadcasts.isEmpty())
        phone.logCall("+442079460123", phone.startedAt + 2_000)

        phone.awaitVerified(verification)
        assertEquals(ObservedCall.Source.CALL_LOG, verification.observedCalls.last().source)
    }

    @Test
    fun `without any permission nothing is received and the code is typed`() {
        phone.deny(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.ManualEntry }

        phone.ringAndHangUp("+442079460123")

        assertTrue(phone.broadcasts.isEmpty())
        assertEquals(0, phone.phoneStateReceivers())
        assertTrue(phone.server.calls.isEmpty())
        assertEquals("tok_447700900123", runBlocking { verification.submitCode("123") })
    }

    @Test
    fun `the server's ringing nudges without READ_PHONE_STATE`() {
        phone.deny(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.ManualEntry }
        val nudges = nudgesOf(verification)

        phone.server.verifications.single().tell(CallEvent.Ringing)

        phone.waitUntil { nudges.size == 1 }
        assertEquals(CallEvent.Ringing, runBlocking { withTimeout(5_000) { verification.callEvents.first() } })
    }

    @Test
    fun `the server's ringing does not nudge when the number is read`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        val nudges = nudgesOf(verification)

        phone.server.verifications.single().tell(CallEvent.Ringing)

        runBlocking { withTimeout(5_000) { verification.callEvents.first() } }
        Thread.sleep(50)
        assertTrue(nudges.isEmpty())
    }

    @Test
    fun `a failed call reaches the app with its reason`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.server.verifications.single().tell(CallEvent.Failed("busy"))

        assertEquals(CallEvent.Failed("busy"), runBlocking { withTimeout(5_000) { verification.callEvents.first() } })
        assertEquals(
            VerificationState.ManualEntry(ManualEntryReason.CALL_TIMEOUT),
            phone.awaitState(verification) { it is VerificationState.ManualEntry },
        )
    }

    @Test
    fun `a blocked call's row verifies`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        // The user's spam app blocked it: it never rang, only the row tells.
        phone.logCall("+442079460123", phone.startedAt + 1_000, CallLog.Calls.BLOCKED_TYPE)

        phone.awaitVerified(verification)
        assertEquals("+442079460123", phone.server.calls.single().number)
    }

    @Test
    fun `blocked and rejected calls of others are handed over too`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.logCall("+447700900111", phone.startedAt + 1_000, CallLog.Calls.BLOCKED_TYPE)
        phone.logCall("+447700900222", phone.startedAt + 2_000, CallLog.Calls.REJECTED_TYPE)
        phone.logCall("+447700900333", phone.startedAt + 3_000, CallLog.Calls.VOICEMAIL_TYPE)

        phone.waitUntil { phone.server.calls.size == 2 }
        Thread.sleep(100)
        assertEquals(listOf("+447700900111", "+447700900222"), phone.server.calls.map { it.number }.sorted())
        assertEquals(VerificationState.AwaitingCall, verification.state.value)
    }

    @Test
    fun `the phone returning to idle re-reads the call log`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        phone.waitUntil { phone.callLog.queries.isNotEmpty() }
        Thread.sleep(100) // the first read (at registration) has finished
        // The observer is held back (cached app): only a re-read finds the row.
        phone.callLog.notifyOnInsert = false
        // Somebody else rings (its number goes to the core) and hangs up; the
        // verification call was blocked by the user's spam app: only its row tells.
        phone.phoneState(EXTRA_STATE_RINGING, "+447700900999")
        phone.waitUntil { phone.server.calls.size == 1 }
        phone.logCall("+442079460123", phone.startedAt + 1_000, CallLog.Calls.BLOCKED_TYPE)
        Thread.sleep(100)
        assertEquals(1, phone.server.calls.size)

        phone.phoneState(EXTRA_STATE_IDLE)

        phone.awaitVerified(verification)
        assertEquals(ObservedCall.Source.CALL_LOG, verification.observedCalls.last().source)
    }

    @Test
    fun `coming back to the foreground re-reads the call log`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        phone.waitUntil { phone.callLog.queries.isNotEmpty() }
        Thread.sleep(100) // the first read (at registration) has finished
        phone.callLog.notifyOnInsert = false
        phone.logCall("+442079460123", phone.startedAt + 1_000)
        Thread.sleep(100)
        assertTrue(phone.server.calls.isEmpty())

        // ON_START: the app's first activity starts.
        Robolectric.buildActivity(android.app.Activity::class.java).setup()

        phone.awaitVerified(verification)
    }

    @Test
    fun `the core asking for the call log re-reads it`() {
        phone.grant(Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        phone.waitUntil { phone.callLog.queries.isNotEmpty() }
        Thread.sleep(100) // the first read (at registration) has finished
        phone.callLog.notifyOnInsert = false
        phone.logCall("+442079460123", phone.startedAt + 1_000)

        phone.server.verifications.single().tell(CallEvent.Delivered)
        phone.server.verifications.single().tell(CallEvent.RereadCallLog)

        phone.awaitVerified(verification)
        assertEquals(
            listOf(CallEvent.Delivered, CallEvent.RereadCallLog),
            verification.callEvents.replayCache,
        )
    }
}
