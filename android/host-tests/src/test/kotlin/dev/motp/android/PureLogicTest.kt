package dev.motp.android

import android.Manifest
import android.os.Build
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** Formatting, de-duplication and permission levels: plain Kotlin, no Android needed. */
class PureLogicTest {

    @Test
    fun `the caller prefix is shown with placeholders for the code`() {
        assertEquals("+44 20 7946 0___", CallerNumberFormat.format("+442079460", 3))
        assertEquals("+44 20 7946 012_", CallerNumberFormat.format("+442079460", 3, "12"))
        assertEquals("+44 20 7946 0123", CallerNumberFormat.format("+442079460", 3, "1234567"))
        assertEquals("+44 20 7946 0•••", CallerNumberFormat.format("+442079460", 3, placeholder = '•'))
    }

    @Test
    fun `numbers are grouped the way each country writes them`() {
        assertEquals("+1 201 555 0___", CallerNumberFormat.format("+12015550", 3))
        assertEquals("+44 7700 900___", CallerNumberFormat.format("+447700900", 3))
        assertEquals("+44 113 496 0___", CallerNumberFormat.format("+441134960", 3))
        assertEquals("+33 1 99 00 1_ __", CallerNumberFormat.format("+3319900", 4, "1"))
        assertEquals("+7 495 123 45 __", CallerNumberFormat.format("+749512345", 2))
        // Unlisted country (+358 Finland): groups of three after a 3-digit code.
        assertEquals("+358 401 234 5__", CallerNumberFormat.format("+3584012345", 2))
        assertEquals("", CallerNumberFormat.format("", 0))
    }

    @Test
    fun `country calling codes have one to three digits`() {
        assertEquals(1, CallerNumberFormat.countryCodeLength("12015550"))
        assertEquals(1, CallerNumberFormat.countryCodeLength("7495"))
        assertEquals(2, CallerNumberFormat.countryCodeLength("4420"))
        assertEquals(3, CallerNumberFormat.countryCodeLength("35840"))
        assertEquals(3, CallerNumberFormat.countryCodeLength("971501"))
    }

    @Test
    fun `a call seen twice in different presentations counts once`() {
        val dedup = CallDeduplicator()
        val t = 1_000_000L
        assertTrue(dedup.isFirstSighting(ObservedCall("020 7946 0123", t, 0, ObservedCall.Source.RINGING)))
        assertFalse(dedup.isFirstSighting(ObservedCall("+442079460123", t - 2_000, null, ObservedCall.Source.CALL_LOG)))
        // A resend calls from another number: a new call.
        assertTrue(dedup.isFirstSighting(ObservedCall("+442079460456", t + 30_000, 0, ObservedCall.Source.RINGING)))
        // The same number long after the window: a new call too.
        assertTrue(dedup.isFirstSighting(ObservedCall("+442079460123", t + 120_000, 0, ObservedCall.Source.CALL_LOG)))
    }

    @Test
    fun `withheld numbers are compared by their marker`() {
        val dedup = CallDeduplicator()
        assertTrue(dedup.isFirstSighting(ObservedCall("", 0, null, ObservedCall.Source.RINGING)))
        assertFalse(dedup.isFirstSighting(ObservedCall("", 10, null, ObservedCall.Source.CALL_LOG)))
        assertTrue(dedup.isFirstSighting(ObservedCall("-2", 20, null, ObservedCall.Source.CALL_LOG)))
    }

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
        val text = ObservedCall("+442079460123", 0, 1, ObservedCall.Source.RINGING).toString()
        assertFalse(text.contains("946"))
        assertTrue(text.contains("number=+4420…"))
    }
}
