package dev.motp.android

import android.app.Activity
import android.os.Bundle
import android.os.Parcel
import dev.motp.core.CallerInfo
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner

/** Item 3: configuration changes and process death. */
@RunWith(RobolectricTestRunner::class)
class RestoreTest {
    private val phone = ShellHarness()

    @After
    fun tearDown() = phone.close()

    /** A scope like `viewModelScope`: it outlives the Activity's configuration changes. */
    private val viewModelScope = CoroutineScope(SupervisorJob())

    @After
    fun clearViewModel() = viewModelScope.cancel()

    @Test
    fun `rotation keeps the verification running`() {
        phone.grantAutomatic()
        val controller = Robolectric.buildActivity(Activity::class.java).setup()
        val verification = phone.motp.start("+447700900123", viewModelScope).bindTo(controller.get())
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }

        controller.recreate() // rotation: destroyed for a configuration change, created again

        assertEquals(VerificationState.AwaitingCall, verification.state.value)
        assertEquals(1, phone.phoneStateReceivers())
        assertFalse(phone.server.verifications.single().canceled)
        phone.ring("+442079460123")
        phone.awaitVerified(verification)
    }

    @Test
    fun `rotations never cancel, the end of the ViewModel does`() {
        phone.grantAutomatic()
        val controller = Robolectric.buildActivity(Activity::class.java).setup()
        val verification = phone.motp.start("+447700900123", viewModelScope).bindTo(controller.get())
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        controller.recreate()
        controller.recreate()
        assertEquals(VerificationState.AwaitingCall, verification.state.value)
        // The bound activity was replaced; the ViewModel's end (its scope) cancels.
        viewModelScope.cancel()
        assertEquals(VerificationState.Canceled, verification.state.value)
        phone.waitUntil { phone.server.verifications.single().canceled }
    }

    @Test
    fun `the saved record survives a Parcel and a Bundle`() {
        val saved = SavedVerification("ver_1", "+447700900123", "+442079460", 3, 1_000L, 301_000L)
        val parcel = Parcel.obtain()
        parcel.writeParcelable(saved, 0)
        parcel.setDataPosition(0)
        val back = parcel.readParcelable<SavedVerification>(SavedVerification::class.java.classLoader)
        parcel.recycle()
        assertEquals(saved, back)
        assertEquals(saved, SavedVerification.fromBundle(saved.toBundle()))
        assertEquals(CallerInfo("+442079460", 3u), saved.caller)
        assertNull(SavedVerification.fromBundle(Bundle()))
        assertTrue(saved.isExpired(301_000L))
        assertFalse(saved.toString().contains("900123"))
    }

    @Test
    fun `the record is there once the server answered`() {
        phone.grantAutomatic()
        val verification = phone.start()
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        val saved = verification.saved
        assertNotNull(saved)
        saved!!
        assertEquals("ver_1", saved.id)
        assertEquals("+442079460", saved.callerPrefix)
        assertEquals(3, saved.codeLength)
        assertEquals(phone.startedAt, saved.startedAtMillis)
    }

    @Test
    fun `after process death a new process resumes by id and finds the call in the log since the start`() {
        // The first process: no permission yet, the state saved in the Activity's Bundle.
        val first = phone.motp.start("+447700900123", viewModelScope, Automation.of(emptySet()))
        phone.awaitState(first) { it is VerificationState.ManualEntry }
        val outState = Bundle().apply { putParcelable("verification", first.saved) }
        val parcel = Parcel.obtain().apply { writeBundle(outState); setDataPosition(0) }
        val restoredState = parcel.readBundle(SavedVerification::class.java.classLoader)!!
        parcel.recycle()
        // While no process runs: an old call, then the verification call.
        phone.logCall("+442079460123", phone.startedAt - 5_000)
        phone.logCall("+442079460123", phone.startedAt + 8_000)

        // The new process, with the permission granted meanwhile.
        phone.grantAutomatic()
        @Suppress("DEPRECATION")
        val saved = restoredState.getParcelable<SavedVerification>("verification")!!
        val secondProcess = Motp(phone.app, phone.server.starter, Dispatchers.IO, { phone.startedAt + 60_000 }, "GB", phone.server.resumer)
        val resumed = secondProcess.resume(saved, CoroutineScope(SupervisorJob()))

        phone.awaitVerified(resumed)
        assertEquals(listOf("ver_1"), phone.server.resumed)
        assertEquals(listOf(phone.startedAt + 8_000), phone.server.verifications.last().calls.map { it.observedAt.toEpochMilli() })
        assertEquals(1, phone.server.verifications.size - 1)
    }
}
