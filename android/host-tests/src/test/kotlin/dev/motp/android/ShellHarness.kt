package dev.motp.android

import android.Manifest
import android.app.Application
import android.content.ContentValues
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import android.telecom.TelecomManager
import android.os.Looper
import android.provider.CallLog
import android.telephony.SubscriptionManager
import android.telephony.TelephonyManager
import dev.motp.core.VerificationState
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assume.assumeTrue
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadow.api.Shadow

/** A phone on the host: the application, a call log, a fake core and a fixed clock. */
class ShellHarness(serverFactory: () -> FakeServer = ::FakeServer) {
    init {
        // The fake server matches numbers with the real Rust matcher.
        val dir = System.getProperty("motp.lib.dir").orEmpty()
        assumeTrue("build it first: cargo build -p motp-ffi", java.io.File(dir, "libmotp_ffi.so").isFile)
    }

    val server: FakeServer = serverFactory()
    val app: Application = RuntimeEnvironment.getApplication()
    val callLog: FakeCallLogProvider = Robolectric.setupContentProvider(FakeCallLogProvider::class.java, CallLog.AUTHORITY)
    val scope = CoroutineScope(SupervisorJob())

    /** The verification starts at this instant; calls before it must be ignored. */
    val startedAt = 1_750_000_000_000L

    val motp = Motp(app, server.starter, Dispatchers.IO, { startedAt }, "GB", server.resumer)

    fun grant(vararg permissions: String) = shadowOf(app).grantPermissions(*permissions)

    fun deny(vararg permissions: String) = shadowOf(app).denyPermissions(*permissions)

    fun grantAutomatic() = grant(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)

    private fun granted(permission: String) = app.checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED

    /** Calls Telecom ended through the real [CallTerminator] (needs `@Config(shadows = [RecordingTelecomManager::class])`). */
    val endedCalls: Int
        get() = Shadow.extract<RecordingTelecomManager>(app.getSystemService(TelecomManager::class.java)).ended.get()

    /** Every phone-state broadcast this app received, in order: (state, number or null). */
    val broadcasts = java.util.concurrent.CopyOnWriteArrayList<Pair<String?, String?>>()

    /**
     * One change of the phone's call state, as the system reports it on
     * the API level under test (AOSP `TelephonyRegistry`):
     * - `TelephonyManager.getCallState()` follows;
     * - API 26–27: one `ACTION_PHONE_STATE_CHANGED` to holders of
     *   READ_PHONE_STATE, with `EXTRA_INCOMING_NUMBER` when there is one;
     * - API 28+: a copy without the number to holders of READ_PHONE_STATE,
     *   then a copy with it (always present, maybe empty) to holders of
     *   READ_PHONE_STATE and READ_CALL_LOG.
     * The phone-wide broadcast carries no slot or subscription extras on AOSP.
     */
    fun phoneState(state: String, number: String? = null) {
        shadowOf(app.getSystemService(TelephonyManager::class.java)).setCallState(
            when (state) {
                TelephonyManager.EXTRA_STATE_RINGING -> TelephonyManager.CALL_STATE_RINGING
                TelephonyManager.EXTRA_STATE_OFFHOOK -> TelephonyManager.CALL_STATE_OFFHOOK
                else -> TelephonyManager.CALL_STATE_IDLE
            },
        )
        if (!granted(Manifest.permission.READ_PHONE_STATE)) return
        val intent = Intent(TelephonyManager.ACTION_PHONE_STATE_CHANGED).putExtra(TelephonyManager.EXTRA_STATE, state)
        @Suppress("DEPRECATION")
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.P) {
            if (!number.isNullOrEmpty()) intent.putExtra(TelephonyManager.EXTRA_INCOMING_NUMBER, number)
            deliver(intent)
        } else {
            deliver(intent)
            if (granted(Manifest.permission.READ_CALL_LOG)) {
                deliver(Intent(intent).putExtra(TelephonyManager.EXTRA_INCOMING_NUMBER, number.orEmpty()))
            }
        }
    }

    @Suppress("DEPRECATION")
    private fun deliver(intent: Intent) {
        broadcasts += intent.getStringExtra(TelephonyManager.EXTRA_STATE) to intent.getStringExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)
        app.sendBroadcast(intent)
        shadowOf(Looper.getMainLooper()).idle()
    }

    /** A missed call from [number]: it rings, then the caller hangs up (IDLE). */
    fun ringAndHangUp(number: String) {
        phoneState(TelephonyManager.EXTRA_STATE_RINGING, number)
        phoneState(TelephonyManager.EXTRA_STATE_IDLE)
    }

    fun start(number: String = "+447700900123"): MotpVerification = motp.start(number, scope)

    /** The phone-state broadcast the system sends while a call rings. */
    fun ring(number: String?, extras: Intent.() -> Unit = {}) {
        val intent = Intent(TelephonyManager.ACTION_PHONE_STATE_CHANGED)
            .putExtra(TelephonyManager.EXTRA_STATE, TelephonyManager.EXTRA_STATE_RINGING)
        @Suppress("DEPRECATION")
        if (number != null) intent.putExtra(TelephonyManager.EXTRA_INCOMING_NUMBER, number)
        intent.extras()
        app.sendBroadcast(intent)
        shadowOf(Looper.getMainLooper()).idle()
    }

    /** A row the telephony stack writes into the call log. */
    fun logCall(number: String, date: Long, type: Int = CallLog.Calls.MISSED_TYPE, phoneAccountId: String? = null) {
        val values = ContentValues().apply {
            put(CallLog.Calls.NUMBER, number)
            put(CallLog.Calls.DATE, date)
            put(CallLog.Calls.TYPE, type)
            if (phoneAccountId != null) put(CallLog.Calls.PHONE_ACCOUNT_ID, phoneAccountId)
        }
        app.contentResolver.insert(CallLog.Calls.CONTENT_URI, values)
    }

    /** Two SIMs: subscription 6 in slot 0, subscription 7 in slot 1. */
    fun dualSim() {
        val manager = app.getSystemService(SubscriptionManager::class.java)
        shadowOf(manager).setActiveSubscriptionInfos(
            org.robolectric.shadows.ShadowSubscriptionManager.SubscriptionInfoBuilder.newBuilder()
                .setId(6).setSimSlotIndex(0).buildSubscriptionInfo(),
            org.robolectric.shadows.ShadowSubscriptionManager.SubscriptionInfoBuilder.newBuilder()
                .setId(7).setSimSlotIndex(1).buildSubscriptionInfo(),
        )
    }

    fun awaitState(verification: MotpVerification, predicate: (VerificationState) -> Boolean): VerificationState =
        runBlocking { withTimeout(5_000) { verification.state.first(predicate) } }

    fun awaitVerified(verification: MotpVerification): VerificationState.Verified =
        awaitState(verification) { it.isFinal() } as VerificationState.Verified

    /** Waits (5 s at most) for work that follows a state change, such as ending the call. */
    fun waitUntil(condition: () -> Boolean) = runBlocking {
        withTimeout(5_000) { while (!condition()) kotlinx.coroutines.delay(5) }
    }

    /** Receivers for the phone-state broadcast still registered. */
    fun phoneStateReceivers(): Int = shadowOf(app).registeredReceivers
        .count { it.intentFilter.hasAction(TelephonyManager.ACTION_PHONE_STATE_CHANGED) }

    /** Observers of the call log still registered. */
    fun callLogObservers(): Int = shadowOf(app.contentResolver).getContentObservers(CallLog.Calls.CONTENT_URI).size

    fun close() {
        scope.cancel()
        callLog.shutdown()
    }
}
