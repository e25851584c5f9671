package dev.motp.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build

/**
 * How much of a verification the SDK can do without the user typing,
 * given the permissions the app holds.
 */
public enum class AutomationLevel {
    /**
     * The app holds the call-screening role (API 29+,
     * `RoleManager.ROLE_CALL_SCREENING`, [MotpCallScreening]): its
     * [MotpCallScreeningService] reads the number of each incoming call
     * without a restricted permission, and lets the matched verification
     * call go silently. The user types nothing and hears nothing.
     */
    CALL_SCREENING,

    /**
     * The incoming number is read (ringing broadcast and/or call log): the
     * user types nothing.
     */
    AUTOMATIC,

    /**
     * The ringing is seen but not its number (READ_PHONE_STATE without
     * READ_CALL_LOG on API 28+): the code field is focused when the call
     * arrives and the user types the last digits.
     */
    RING_NUDGE,

    /** Nothing is observed: the user types the last digits of the caller. */
    MANUAL,
}

/**
 * What the granted permissions allow, path by path.
 *
 * | permissions granted                        | API 26–27     | API 28+       |
 * |--------------------------------------------|---------------|---------------|
 * | READ_PHONE_STATE + READ_CALL_LOG           | both paths    | both paths    |
 * | READ_CALL_LOG only                         | call log      | call log      |
 * | READ_PHONE_STATE only                      | ringing+number| ringing, no number (nudge) |
 * | none                                       | manual        | manual        |
 *
 * ANSWER_PHONE_CALLS on API 28+ additionally ends the matched call at once,
 * only when it is the only call (see [CallTerminator]). Holding the
 * call-screening role (API 29+) reads the number without any of these
 * ([AutomationLevel.CALL_SCREENING]).
 */
public data class Automation(
    /** Phone-state broadcasts are received (READ_PHONE_STATE). */
    val ringingBroadcast: Boolean,
    /** Those broadcasts carry the caller number (API 28+: needs READ_CALL_LOG too). */
    val ringingNumber: Boolean,
    /** The call log can be read (READ_CALL_LOG). */
    val callLog: Boolean,
    /** The matched call can be ended before the user sees it ring long (API 28+, ANSWER_PHONE_CALLS). */
    val endCall: Boolean,
    /** The app holds the call-screening role and declares [MotpCallScreeningService] (API 29+). */
    val callScreening: Boolean = false,
) {
    val level: AutomationLevel
        get() = when {
            callScreening -> AutomationLevel.CALL_SCREENING
            ringingNumber || callLog -> AutomationLevel.AUTOMATIC
            ringingBroadcast -> AutomationLevel.RING_NUDGE
            else -> AutomationLevel.MANUAL
        }

    public companion object {
        /** What [granted] permissions allow on API level [sdkInt]. */
        @JvmStatic
        public fun of(
            granted: Set<String>,
            sdkInt: Int = Build.VERSION.SDK_INT,
            screeningRole: Boolean = false,
        ): Automation {
            val phoneState = Manifest.permission.READ_PHONE_STATE in granted
            val callLog = Manifest.permission.READ_CALL_LOG in granted
            return Automation(
                ringingBroadcast = phoneState,
                ringingNumber = phoneState && (sdkInt < Build.VERSION_CODES.P || callLog),
                callLog = callLog,
                endCall = sdkInt >= Build.VERSION_CODES.P &&
                    Manifest.permission.ANSWER_PHONE_CALLS in granted,
                callScreening = screeningRole && sdkInt >= Build.VERSION_CODES.Q,
            )
        }

        /** What this app's currently granted permissions allow. */
        @JvmStatic
        public fun current(context: Context): Automation =
            of(
                MotpPermissions.all().filterTo(HashSet()) { context.isGranted(it) },
                screeningRole = MotpCallScreening.isActive(context),
            )

        private fun Context.isGranted(permission: String): Boolean =
            checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED
    }
}
