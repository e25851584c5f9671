package dev.motp.android

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.content.pm.PackageManager
import android.telephony.TelephonyManager
import androidx.activity.result.contract.ActivityResultContracts.RequestMultiplePermissions
import dev.motp.core.CallerInfo
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

/** The permission contract, the home country and the code-entry view on Android. */
@RunWith(RobolectricTestRunner::class)
class PlatformPiecesTest {
    private val app = RuntimeEnvironment.getApplication()
    private val all = arrayOf(
        Manifest.permission.READ_PHONE_STATE,
        Manifest.permission.READ_CALL_LOG,
        Manifest.permission.ANSWER_PHONE_CALLS,
    )

    private fun answer(vararg results: Int): Intent = Intent()
        .putExtra(RequestMultiplePermissions.EXTRA_PERMISSIONS, all)
        .putExtra(RequestMultiplePermissions.EXTRA_PERMISSION_GRANT_RESULTS, results)

    @Test
    @Config(sdk = [28, 29, 31, 34, 35]) // ANSWER_PHONE_CALLS and the number-less broadcast start at API 28.
    fun `the contract asks for every permission that helps`() {
        val intent = RequestMotpPermissions().createIntent(app, Unit)
        assertEquals(RequestMultiplePermissions.ACTION_REQUEST_PERMISSIONS, intent.action)
        assertArrayEquals(all, intent.getStringArrayExtra(RequestMultiplePermissions.EXTRA_PERMISSIONS))
        val withoutEndCall = RequestMotpPermissions(endCall = false).createIntent(app, Unit)
        assertEquals(2, withoutEndCall.getStringArrayExtra(RequestMultiplePermissions.EXTRA_PERMISSIONS)!!.size)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35]) // ANSWER_PHONE_CALLS and the number-less broadcast start at API 28.
    fun `a refusal is an answer that means manual entry`() {
        val denied = PackageManager.PERMISSION_DENIED
        val granted = PackageManager.PERMISSION_GRANTED
        val contract = RequestMotpPermissions()

        assertEquals(AutomationLevel.MANUAL, contract.parseResult(Activity.RESULT_OK, answer(denied, denied, denied)).level)
        assertEquals(AutomationLevel.MANUAL, contract.parseResult(Activity.RESULT_CANCELED, null).level)
        assertEquals(AutomationLevel.RING_NUDGE, contract.parseResult(Activity.RESULT_OK, answer(granted, denied, denied)).level)
        val everything = contract.parseResult(Activity.RESULT_OK, answer(granted, granted, granted))
        assertEquals(AutomationLevel.AUTOMATIC, everything.level)
        assertEquals(true, everything.endCall)
    }

    @Test
    @Config(sdk = [28, 29, 31, 34, 35]) // ANSWER_PHONE_CALLS and the number-less broadcast start at API 28.
    fun `nothing is asked when everything is already granted`() {
        assertNull(RequestMotpPermissions().getSynchronousResult(app, Unit))
        shadowOf(app).grantPermissions(*all)
        val result = RequestMotpPermissions().getSynchronousResult(app, Unit)
        assertEquals(AutomationLevel.AUTOMATIC, result!!.value.level)
        assertEquals(emptyList<String>(), MotpPermissions.missing(app))
    }

    @Test
    fun `home country comes from the SIM, else the network`() {
        val telephony = shadowOf(app.getSystemService(TelephonyManager::class.java))
        telephony.setSimCountryIso("gb")
        telephony.setNetworkCountryIso("fr")
        assertEquals("GB", HomeCountry.detect(app))
        telephony.setSimCountryIso("")
        assertEquals("FR", HomeCountry.detect(app))
    }

    @Test
    fun `the code-entry view fills the placeholders as the user types`() {
        val view = CodeEntryView(app)
        val completed = mutableListOf<String>()
        view.onCodeComplete = { completed += it }
        view.homeCountry = null
        view.setCaller("+442079460", 3)
        assertEquals("+44 20 7946 0___", view.numberView.text.toString())

        view.codeInput.setText("12")
        assertEquals("+44 20 7946 012_", view.numberView.text.toString())
        assertEquals(emptyList<String>(), completed)

        view.codeInput.append("3")
        assertEquals("+44 20 7946 0123", view.numberView.text.toString())
        assertEquals(listOf("123"), completed)
    }

    @Test
    fun `the code-entry view accepts only the expected digits`() {
        val view = CodeEntryView(app)
        view.homeCountry = "GB"
        view.setCaller(CallerInfo("+442079460", 3u))
        view.setCode("4a5-6789")
        assertEquals("456", view.code)
        view.setCaller("+12015550", 3)
        assertEquals("", view.code)
        assertEquals("+1 201-555-0___", view.numberView.text.toString())
    }

    @Test
    fun `the code-entry view shows a caller of the home country as the phone does`() {
        shadowOf(app.getSystemService(TelephonyManager::class.java)).setSimCountryIso("gb")
        val view = CodeEntryView(app)
        assertEquals("GB", view.homeCountry)
        view.setCaller(CallerInfo("+442079460", 3u))
        assertEquals("020 7946 0___", view.numberView.text.toString())
        view.codeInput.setText("1")
        assertEquals("020 7946 01__", view.numberView.text.toString())
        view.homeCountry = null
        assertEquals("+44 20 7946 01__", view.numberView.text.toString())
    }

    @Test
    @Config(sdk = [26])
    fun `on API 26 phone state alone reads the number and no call can be ended`() {
        val automation = Automation.of(setOf(Manifest.permission.READ_PHONE_STATE, Manifest.permission.ANSWER_PHONE_CALLS))
        assertEquals(AutomationLevel.AUTOMATIC, automation.level)
        assertEquals(false, automation.endCall)
        assertEquals(2, MotpPermissions.all().size)
    }
}
