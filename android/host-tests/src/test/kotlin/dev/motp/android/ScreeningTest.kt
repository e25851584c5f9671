package dev.motp.android

import android.app.role.RoleManager
import android.content.ComponentName
import android.content.pm.ServiceInfo
import android.net.Uri
import android.telecom.Call
import android.telecom.CallScreeningService.CallResponse
import dev.motp.core.CallVisibility
import dev.motp.core.VerificationState
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowCallScreeningService
import org.robolectric.util.ReflectionHelpers

/**
 * Item 4: the call-screening role. Only the call the core matches is let
 * go silently; every other call is allowed untouched.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [29, 31, 34, 35])
class ScreeningTest {
    private val phone = ShellHarness()

    @Before
    fun holdTheRole() {
        val roles = phone.app.getSystemService(RoleManager::class.java)
        shadowOf(roles).addAvailableRole(RoleManager.ROLE_CALL_SCREENING)
        shadowOf(roles).addHeldRole(RoleManager.ROLE_CALL_SCREENING)
        val service = ServiceInfo().apply {
            packageName = phone.app.packageName
            name = MotpCallScreeningService::class.java.name
        }
        shadowOf(phone.app.packageManager).addOrUpdateService(service)
    }

    @After
    fun tearDown() = phone.close()

    /** What Telecom hands the service: `Call.Details` (its constructor is hidden). */
    private fun details(number: String, direction: Int = Call.Details.DIRECTION_INCOMING): Call.Details {
        val unsafe = ReflectionHelpers.getStaticField<sun.misc.Unsafe>(sun.misc.Unsafe::class.java, "theUnsafe")
        val details = unsafe.allocateInstance(Call.Details::class.java) as Call.Details
        ReflectionHelpers.setField(details, "mHandle", Uri.fromParts("tel", number, null))
        ReflectionHelpers.setField(details, "mCallDirection", direction)
        return details
    }

    private fun screen(number: String, direction: Int = Call.Details.DIRECTION_INCOMING): CallResponse {
        val service = Robolectric.setupService(MotpCallScreeningService::class.java)
        service.onScreenCall(details(number, direction))
        val shadow = org.robolectric.shadow.api.Shadow.extract<ShadowCallScreeningService>(service)
        return shadow.lastRespondToCallInput.get().callResponse
    }

    private fun startScreening(): MotpVerification {
        val verification = phone.start()
        assertEquals(AutomationLevel.CALL_SCREENING, verification.automation.level)
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        return verification
    }

    @Test
    fun `holding the role and declaring the service is the call-screening level, with no permission`() {
        assertTrue(MotpCallScreening.isActive(phone.app))
        val automation = Automation.current(phone.app)
        assertEquals(AutomationLevel.CALL_SCREENING, automation.level)
        assertFalse(automation.ringingBroadcast || automation.callLog)
        val verification = phone.start()
        assertEquals(CallVisibility.NUMBERS, verification.callVisibility)
        phone.awaitState(verification) { it is VerificationState.AwaitingCall }
        assertEquals(0, phone.phoneStateReceivers())
        assertEquals(0, phone.callLogObservers())
    }

    @Test
    fun `the matched flash call is let go silently and verifies`() {
        val verification = startScreening()

        val response = screen("+442079460123")

        assertTrue(response.disallowCall)
        assertFalse(response.rejectCall)
        assertTrue(response.skipCallLog)
        assertTrue(response.skipNotification)
        phone.awaitVerified(verification)
        assertEquals(ObservedCall.Source.SCREENING, verification.observedCalls.single().source)
        assertEquals("+442079460123", phone.server.calls.single().number)
    }

    @Test
    fun `a national-form caller is matched by the core too`() {
        val verification = startScreening()
        assertTrue(screen("02079460123").disallowCall)
        phone.awaitVerified(verification)
    }

    @Test
    fun `any other call is allowed untouched, and still reaches the core`() {
        val verification = startScreening()

        val response = screen("+447700900999")

        assertFalse(response.disallowCall)
        assertFalse(response.rejectCall)
        assertFalse(response.skipCallLog)
        assertFalse(response.skipNotification)
        phone.waitUntil { phone.server.calls.size == 1 }
        assertEquals(VerificationState.AwaitingCall, verification.state.value)
    }

    @Test
    fun `a caller outside the verification's range is allowed, one of the range is let go`() {
        startScreening()
        // The phone never knows the code: every number of the range is the verification's caller.
        assertFalse(screen("+442079461123").disallowCall)
        assertTrue(screen("+442079460999").disallowCall)
    }

    @Test
    fun `an outgoing call is allowed untouched and not handed over`() {
        startScreening()
        val response = screen("+442079460123", Call.Details.DIRECTION_OUTGOING)
        assertFalse(response.disallowCall)
        Thread.sleep(50)
        assertTrue(phone.server.calls.isEmpty())
    }

    @Test
    fun `without a running verification every call is allowed`() {
        assertFalse(screen("+442079460123").disallowCall)
    }

    @Test
    fun `after the verification ended the same number is allowed`() {
        val verification = startScreening()
        verification.cancel()
        assertFalse(screen("+442079460123").disallowCall)
    }

    @Test
    fun `without the role the level is not call screening`() {
        val roles = phone.app.getSystemService(RoleManager::class.java)
        shadowOf(roles).removeHeldRole(RoleManager.ROLE_CALL_SCREENING)
        assertFalse(MotpCallScreening.isActive(phone.app))
        assertEquals(AutomationLevel.MANUAL, Automation.current(phone.app).level)
        assertNotNull(MotpCallScreening.requestRoleIntent(phone.app))
        assertNotNull(RequestCallScreeningRole().createIntent(phone.app, Unit))
        assertTrue(RequestCallScreeningRole().parseResult(android.app.Activity.RESULT_OK, null))
    }

    @Test
    fun `the role without the declared service is not enough`() {
        shadowOf(phone.app.packageManager).removeService(
            ComponentName(phone.app, MotpCallScreeningService::class.java),
        )
        assertFalse(MotpCallScreening.isActive(phone.app))
    }
}
