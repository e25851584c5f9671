package dev.motp.android

import android.Manifest
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.runBlocking
import dev.motp.core.CallVisibility
import dev.motp.core.CallerInfo
import dev.motp.core.ManualEntryReason
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** Permissions, manual fall back, and that nothing outlives a verification. */
@RunWith(RobolectricTestRunner::class)
class LifecycleTest {
    private val phone = ShellHarness()

    @After
    fun tearDown() = phone.close()

    @Test
    fun `denied permissions lead to manual entry and observe nothing`() {
        phone.deny(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)
        val verification = phone.start()

        val state = phone.awaitState(verification) { it !is VerificationState.Requesting }
        assertEquals(
            VerificationState.ManualEntry(ManualEntryReason.PERMISSION_MISSING),
            state,
        )
        assertEquals(AutomationLevel.MANUAL, verification.automation.level)
        assertEquals(CallVisibility.PERMISSION_MISSING, phone.server.verifications.single().visibility)
        assertEquals(0, phone.phoneStateReceivers())
        assertEquals(0, phone.callLogObservers())

        assertEquals(CallerInfo("+442079460", 3u), runBlocking { verification.caller() })
        assertEquals("tok_447700900123", runBlocking { verification.submitCode("123") })
        phone.awaitVerified(verification)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35]) // Below, READ_PHONE_STATE alone reads the number (AUTOMATIC).
    fun `the core is told at the start what the phone can see of calls`() {
        // The shell decides nothing itself: it passes the visibility, the core
        // picks the state (RealCoreTest runs the real one, resend included).
        phone.grantAutomatic()
        val automatic = phone.start()
        phone.awaitState(automatic) { it is VerificationState.AwaitingCall }
        assertEquals(CallVisibility.NUMBERS, automatic.callVisibility)
        automatic.cancel()

        phone.deny(Manifest.permission.READ_CALL_LOG)
        val nudge = phone.start()
        phone.awaitState(nudge) { it is VerificationState.ManualEntry }
        assertEquals(AutomationLevel.RING_NUDGE, nudge.automation.level)
        assertEquals(CallVisibility.PERMISSION_MISSING, nudge.callVisibility)

        assertEquals(
            listOf(CallVisibility.NUMBERS, CallVisibility.PERMISSION_MISSING),
            phone.server.verifications.map { it.visibility },
        )
    }

    @Test
    fun `a verification used after its end answers with the core's errors`() {
        phone.grantAutomatic()
        val answer = kotlinx.coroutines.CompletableDeferred<Unit>()
        phone.server.answer = answer
        val early = phone.start()
        early.cancel() // before the server answered
        answer.complete(Unit)
        assertTrue(runCatching { runBlocking { early.caller() } }.exceptionOrNull() is MotpException.Canceled)

        phone.server.answer = null
        val done = phone.start()
        phone.awaitState(done) { it is VerificationState.AwaitingCall }
        phone.ring("+442079460123")
        phone.awaitVerified(done)
        val error = runCatching { runBlocking { done.submitCode("123") } }.exceptionOrNull()
        assertTrue(error is MotpException.InvalidState)
        assertEquals(CallerInfo("+442079460", 3u), runBlocking { done.caller() })
    }

    @Test
    fun `a wrong typed code throws and keeps the verification open`() {
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.ManualEntry }

        val error = runCatching { runBlocking { verification.submitCode("999") } }.exceptionOrNull()

        assertEquals(2u, (error as MotpException.WrongCode).attemptsLeft)
        assertTrue(verification.state.value is VerificationState.ManualEntry)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35]) // Below, READ_PHONE_STATE alone reads the number (AUTOMATIC).
    fun `phone state without call log nudges the code field when it rings`() {
        phone.grant(Manifest.permission.READ_PHONE_STATE)
        val verification = phone.start()
        val state = phone.awaitState(verification) { it !is VerificationState.Requesting }
        assertEquals(AutomationLevel.RING_NUDGE, verification.automation.level)
        assertTrue(state is VerificationState.ManualEntry)

        val nudges = java.util.concurrent.CopyOnWriteArrayList<Int?>()
        val collecting = phone.scope.launch(Dispatchers.Unconfined) { verification.ringing.collect { nudges += it } }
        // API 28+: without READ_CALL_LOG the broadcast comes without a number, on any SIM.
        phone.ring(null) { putExtra(android.telephony.SubscriptionManager.EXTRA_SLOT_INDEX, 0) }
        phone.dualSim()
        // Before API 30 the broadcast names the SIM by subscription (7: the second).
        phone.ring(null) { putExtra("subscription", 7) }
        waitUntil { nudges.size == 2 }
        collecting.cancel()

        assertEquals(listOf<Int?>(0, 1), nudges.toList())
        assertTrue(phone.server.calls.isEmpty())
    }

    @Test
    fun `nothing stays registered after completion`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        assertEquals(1, phone.phoneStateReceivers())
        assertEquals(1, phone.callLogObservers())
        assertTrue(verification.isObserving)

        phone.ring("+442079460123")
        phone.awaitVerified(verification)

        // Already true when Verified was published: teardown comes first.
        assertFalse(verification.isObserving)
        waitUntil { phone.server.verifications.single().closed } // native object freed
        assertEquals(0, phone.phoneStateReceivers())
        assertEquals(0, phone.callLogObservers())
        // A later call is not even seen.
        phone.ring("+442079460123")
        assertEquals(1, phone.server.calls.size)
    }

    @Test
    fun `cancel unregisters at once and cancels on the server`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        verification.cancel()

        assertEquals(VerificationState.Canceled, verification.state.value)
        assertEquals(0, phone.phoneStateReceivers())
        assertEquals(0, phone.callLogObservers())
        waitUntil { phone.server.verifications.single().canceled }
        // Cancel is idempotent and final.
        verification.cancel()
        assertEquals(VerificationState.Canceled, verification.state.value)
    }

    @Test
    fun `ending the caller's scope ends the verification`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        phone.scope.cancel() // e.g. lifecycleScope of a destroyed Activity

        assertEquals(VerificationState.Canceled, verification.state.value)
        assertEquals(0, phone.phoneStateReceivers())
        assertEquals(0, phone.callLogObservers())
        waitUntil { phone.server.verifications.single().canceled }
    }

    @Test
    fun `a bound activity that is destroyed cancels the verification`() {
        phone.grantAutomatic()
        val controller = Robolectric.buildActivity(android.app.Activity::class.java).setup()
        val verification = phone.start().bindTo(controller.get())
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        controller.pause().stop().destroy()

        assertEquals(VerificationState.Canceled, verification.state.value)
        assertEquals(0, phone.phoneStateReceivers())
    }

    @Test
    fun `a failed request is a final state and unregisters`() {
        phone.grantAutomatic()
        val refusing = Motp(
            phone.app,
            { _, _, _ -> throw MotpException.DestinationNotAllowed("premium-rate number") },
            Dispatchers.IO,
            { phone.startedAt },
            "GB",
            phone.server.resumer,
        )
        val verification = refusing.start("+447700900123", phone.scope)

        val state = phone.awaitState(verification) { it.isFinal() }

        val error = (state as VerificationState.Failed).error
        assertEquals("premium-rate number", (error as MotpException.DestinationNotAllowed).reason)
        assertEquals(0, phone.phoneStateReceivers())
        assertEquals(0, phone.callLogObservers())
    }

    private fun waitUntil(condition: () -> Boolean) = runBlocking {
        withTimeout(5_000) { while (!condition()) delay(5) }
    }
}
