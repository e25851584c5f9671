package dev.motp.android

import android.Manifest
import android.content.ContentValues
import android.content.Intent
import android.os.Looper
import android.provider.CallLog
import android.telephony.TelephonyManager
import dev.motp.core.ManualEntryReason
import dev.motp.core.MotpConfig
import dev.motp.core.VerificationState
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The shell over the real core: the production `Motp(context, MotpConfig)`,
 * so the generated `MotpClient` of the real `libmotp_ffi.so` (through JNA)
 * makes real HTTP requests to a [TinyMotpServer] on loopback. The core, not
 * a fake, decides which sighting of a call counts and when to ask for the
 * typed code.
 */
@RunWith(RobolectricTestRunner::class)
class RealCoreTest {
    private val app = RuntimeEnvironment.getApplication()
    private val scope = CoroutineScope(SupervisorJob())
    private lateinit var callLog: FakeCallLogProvider
    private var server: TinyMotpServer? = null

    @Before
    fun setUp() {
        val dir = System.getProperty("motp.lib.dir").orEmpty()
        assumeTrue("build it first: cargo build -p motp-ffi", File(dir, "libmotp_ffi.so").isFile)
        callLog = Robolectric.setupContentProvider(FakeCallLogProvider::class.java, CallLog.AUTHORITY)
    }

    @After
    fun tearDown() {
        scope.cancel()
        server?.close()
        if (::callLog.isInitialized) callLog.shutdown()
    }

    private fun start(server: TinyMotpServer): Pair<MotpVerification, List<VerificationState>> {
        this.server = server
        val motp = Motp(app, MotpConfig(server.url, "pk_test_android", "GB"))
        val verification = motp.start("+447700900123", scope)
        val states = CopyOnWriteArrayList<VerificationState>()
        scope.launch(Dispatchers.Unconfined) { verification.state.collect { states += it } }
        return verification to states
    }

    @Test
    fun `a check lost to the network is checked again with the call-log row of the same call`() {
        shadowOf(app).grantPermissions(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)
        val server = TinyMotpServer(lostChecks = 1)
        val (verification, states) = start(server)
        assertEquals(AutomationLevel.AUTOMATIC, verification.automation.level)
        awaitState(verification) { it == VerificationState.AwaitingCall }

        // The call rings; the broadcast carries the number in national form.
        val rangAt = System.currentTimeMillis()
        ring("020 7946 0123")
        // Its check reaches the server, which drops the connection: the core
        // is back to waiting for the call.
        waitUntil { server.checks.size == 1 && hasSubsequence(states, VERIFYING_AGAIN) }
        assertEquals(VerificationState.AwaitingCall, verification.state.value)

        // The call ends and the telephony stack logs it, in E.164 form: the
        // row reaches the core, which checks that call again at once (its own
        // retry would come a second later, with the ringing number).
        logCall("+442079460123", rangAt)

        val final = awaitState(verification) { it.isFinal() }
        assertEquals(VerificationState.Verified("tok"), final)
        assertEquals(listOf(false, true), server.checks.map { it.answered })
        assertEquals(listOf("020 7946 0123", "+442079460123"), server.checks.map { it.callerId })
        assertEquals(
            listOf(ObservedCall.Source.RINGING, ObservedCall.Source.CALL_LOG),
            verification.observedCalls.map { it.source },
        )
        assertTrue("$states", hasSubsequence(states, VERIFYING_AGAIN + VERIFIED))
        assertFalse(verification.isObserving)
    }

    @Test
    fun `without permissions the core asks for the typed code at once, also after a resend`() {
        shadowOf(app).denyPermissions(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)
        val server = TinyMotpServer()
        val (verification, states) = start(server)
        assertEquals(AutomationLevel.MANUAL, verification.automation.level)

        val manual = VerificationState.ManualEntry(ManualEntryReason.PERMISSION_MISSING)
        assertEquals(manual, awaitState(verification) { it !is VerificationState.Requesting })
        runBlocking { verification.resend() }
        assertTrue(server.requests.contains("POST /v1/verifications/ver_tiny/resend"))
        assertEquals(manual, verification.state.value)
        assertEquals("tok", runBlocking { verification.submitCode("123") })

        assertEquals(VerificationState.Verified("tok"), awaitState(verification) { it.isFinal() })
        assertEquals(listOf("123"), server.checks.map { it.code })
        // The wait for a call this phone cannot read is never shown.
        assertFalse("$states", states.any { it == VerificationState.AwaitingCall })
    }

    /** The phone-state broadcast the system sends while a call rings. */
    private fun ring(number: String) {
        @Suppress("DEPRECATION")
        val intent = Intent(TelephonyManager.ACTION_PHONE_STATE_CHANGED)
            .putExtra(TelephonyManager.EXTRA_STATE, TelephonyManager.EXTRA_STATE_RINGING)
            .putExtra(TelephonyManager.EXTRA_INCOMING_NUMBER, number)
        app.sendBroadcast(intent)
        shadowOf(Looper.getMainLooper()).idle()
    }

    /** The row the telephony stack writes once a missed call has ended; `date` is when it rang. */
    private fun logCall(number: String, date: Long) {
        val values = ContentValues().apply {
            put(CallLog.Calls.NUMBER, number)
            put(CallLog.Calls.DATE, date)
            put(CallLog.Calls.TYPE, CallLog.Calls.MISSED_TYPE)
        }
        app.contentResolver.insert(CallLog.Calls.CONTENT_URI, values)
    }

    private fun awaitState(verification: MotpVerification, predicate: (VerificationState) -> Boolean): VerificationState =
        runBlocking { withTimeout(10_000) { verification.state.first(predicate) } }

    private fun waitUntil(condition: () -> Boolean) = runBlocking {
        withTimeout(10_000) { while (!condition()) delay(5) }
    }

    /** Whether [expected] appears in [states] in order, other states between allowed. */
    private fun hasSubsequence(states: List<VerificationState>, expected: List<VerificationState>): Boolean {
        var next = 0
        for (state in states) if (next < expected.size && state == expected[next]) next++
        return next == expected.size
    }

    private companion object {
        /** A check that went out and came back without a verdict. */
        val VERIFYING_AGAIN = listOf(
            VerificationState.AwaitingCall,
            VerificationState.Verifying,
            VerificationState.AwaitingCall,
        )
        val VERIFIED = listOf(VerificationState.Verifying, VerificationState.Verified("tok"))
    }
}
