package dev.motp.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.telecom.TelecomManager
import android.telephony.TelephonyManager

/**
 * The phone's call state as the phone-state broadcasts told it, for
 * [CallTerminator]: whether the ringing call is the only one.
 *
 * A call that arrives while another is active or held ("call waiting")
 * is reported as RINGING too, but after OFFHOOK rather than after IDLE;
 * that is the only public sign of it. API 28+ sends each state twice to an
 * app holding READ_CALL_LOG (once without the number, once with it): the
 * repeat does not change what came before the ringing.
 */
internal class CallStateTracker(initial: String) {
    @Volatile
    var current: String = initial
        private set

    /** The state the phone was in when the current ringing began. */
    @Volatile
    var beforeRinging: String? = if (initial == TelephonyManager.EXTRA_STATE_RINGING) null else initial
        private set

    @Synchronized
    fun onState(state: String) {
        when (state) {
            TelephonyManager.EXTRA_STATE_RINGING ->
                if (current != TelephonyManager.EXTRA_STATE_RINGING) beforeRinging = current
            TelephonyManager.EXTRA_STATE_IDLE -> beforeRinging = null
            TelephonyManager.EXTRA_STATE_OFFHOOK -> Unit
            else -> return
        }
        current = state
    }

    /** Ringing, and the phone was idle before: no other call active or held. */
    val isLoneRingingCall: Boolean
        @Synchronized get() = current == TelephonyManager.EXTRA_STATE_RINGING &&
            beforeRinging == TelephonyManager.EXTRA_STATE_IDLE

    companion object {
        /** Starts from the phone's state now; OFFHOOK (never end) when it cannot be read. */
        @SuppressLint("MissingPermission")
        fun of(context: Context): CallStateTracker {
            val state = try {
                @Suppress("DEPRECATION")
                when (context.getSystemService(TelephonyManager::class.java)?.callState) {
                    TelephonyManager.CALL_STATE_IDLE -> TelephonyManager.EXTRA_STATE_IDLE
                    TelephonyManager.CALL_STATE_RINGING -> TelephonyManager.EXTRA_STATE_RINGING
                    else -> TelephonyManager.EXTRA_STATE_OFFHOOK
                }
            } catch (_: SecurityException) {
                TelephonyManager.EXTRA_STATE_OFFHOOK
            }
            return CallStateTracker(state)
        }
    }
}

/**
 * Ends the ringing verification call so the phone barely rings, and only
 * that call.
 *
 * [TelecomManager.endCall] (API 28+, ANSWER_PHONE_CALLS) ends Telecom's
 * *foreground* call, and an active call takes priority over a ringing one:
 * called during another call it would hang up the user's own call. So a
 * call is ended only when all of these hold, checked at that moment:
 * - the core matched its number on the device (the caller's), before any
 *   round trip to the server ([MotpVerification] checks this);
 * - the phone-state broadcasts say it is ringing now and the phone was
 *   idle before it rang: no other call active or held ([CallStateTracker]);
 * - the telephony service says the phone is ringing now (the call has not
 *   been answered or ended meanwhile).
 *
 * `endCall` is deprecated from API 29 in favour of the call-screening role
 * ([MotpCallScreeningService], which lets the call go without it ever
 * ringing); it still works for an app holding the permission, and if a
 * future release drops it the call simply rings out.
 */
internal class CallTerminator(private val context: Context) {

    /** Whether this device and the granted permissions allow ending calls. */
    fun isAvailable(): Boolean =
        Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            context.checkSelfPermission(Manifest.permission.ANSWER_PHONE_CALLS) ==
            PackageManager.PERMISSION_GRANTED

    /**
     * Ends the ringing call if it is the only call and still ringing;
     * false when it did not. Never throws.
     */
    @SuppressLint("MissingPermission") // isAvailable() checks it.
    fun endLoneRingingCall(calls: CallStateTracker): Boolean {
        if (!isAvailable() || !calls.isLoneRingingCall || !ringingNow()) return false
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

    @SuppressLint("MissingPermission")
    private fun ringingNow(): Boolean = try {
        @Suppress("DEPRECATION")
        context.getSystemService(TelephonyManager::class.java)?.callState == TelephonyManager.CALL_STATE_RINGING
    } catch (_: SecurityException) {
        false
    }
}
