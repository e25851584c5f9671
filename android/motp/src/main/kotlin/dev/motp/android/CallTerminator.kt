package dev.motp.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.telecom.TelecomManager

/**
 * Ends the ringing verification call so the phone barely rings.
 *
 * Uses [TelecomManager.endCall] (API 28+, needs ANSWER_PHONE_CALLS). It was
 * deprecated in API 29, where Google points call *screening* apps to
 * `CallScreeningService` and wearable companions to `InCallService`; both
 * need the user to pick the app for a system role, which a verification
 * screen cannot ask. `endCall` still works for an app holding the
 * permission, and if a future release drops it the call simply rings out:
 * the verification does not depend on it.
 *
 * Only called for a call the core has matched, so a real call is never cut.
 */
internal class CallTerminator(private val context: Context) {

    /** Whether this device and the granted permissions allow ending calls. */
    fun isAvailable(): Boolean =
        Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            context.checkSelfPermission(Manifest.permission.ANSWER_PHONE_CALLS) ==
            PackageManager.PERMISSION_GRANTED

    /** Ends the ringing call; false when not possible. Never throws. */
    @SuppressLint("MissingPermission") // isAvailable() checks it.
    fun endRingingCall(): Boolean {
        if (!isAvailable()) return false
        val telecom = context.getSystemService(TelecomManager::class.java) ?: return false
        return try {
            @Suppress("DEPRECATION")
            telecom.endCall()
        } catch (_: SecurityException) {
            false
        } catch (_: RuntimeException) {
            // Some OEM builds throw when no call is ringing any more.
            false
        }
    }
}
