package dev.motp.android

import android.Manifest
import android.os.Build
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** Permission levels, home country, masking: plain Kotlin, no Android needed. */
class PureLogicTest {

    @Test
    fun `permissions map to automation levels per API level`() {
        val phoneState = Manifest.permission.READ_PHONE_STATE
        val callLog = Manifest.permission.READ_CALL_LOG
        val answer = Manifest.permission.ANSWER_PHONE_CALLS
        val p = Build.VERSION_CODES.P
        val oMr1 = Build.VERSION_CODES.O_MR1

        assertEquals(AutomationLevel.AUTOMATIC, Automation.of(setOf(phoneState, callLog), p).level)
        assertEquals(AutomationLevel.AUTOMATIC, Automation.of(setOf(callLog), p).level)
        // API 28 moved the incoming number behind READ_CALL_LOG.
        assertEquals(AutomationLevel.RING_NUDGE, Automation.of(setOf(phoneState), p).level)
        assertEquals(AutomationLevel.AUTOMATIC, Automation.of(setOf(phoneState), oMr1).level)
        assertEquals(AutomationLevel.MANUAL, Automation.of(emptySet(), p).level)
        // endCall is API 28+.
        assertTrue(Automation.of(setOf(phoneState, callLog, answer), p).endCall)
        assertFalse(Automation.of(setOf(phoneState, callLog, answer), oMr1).endCall)
        assertEquals(listOf(phoneState, callLog), MotpPermissions.all(oMr1))
        assertEquals(listOf(phoneState, callLog, answer), MotpPermissions.all(p))
    }

    @Test
    fun `home country prefers the SIM, then the network, then the locale`() {
        assertEquals("GB", HomeCountry.choose("gb", "fr", "DE"))
        assertEquals("FR", HomeCountry.choose("", "fr", "DE"))
        assertEquals("DE", HomeCountry.choose(null, " ", "DE"))
        assertEquals("IT", HomeCountry.choose("310", null, "it"))
        assertNull(HomeCountry.choose(null, null, ""))
    }

    @Test
    fun `sightings never print the code digits`() {
        val text = ObservedCall("+442079460123", 0, ObservedCall.Source.RINGING).toString()
        assertFalse(text.contains("946"))
        assertTrue(text.contains("number=+4420…"))
    }
}
