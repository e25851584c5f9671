package dev.motp.android

import android.app.role.RoleManager
import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import android.telecom.Call
import android.telecom.CallScreeningService
import androidx.activity.result.contract.ActivityResultContract
import java.util.concurrent.CopyOnWriteArraySet

/**
 * The zero-typing path that needs no restricted permission (API 29+): the
 * app holds the call-screening role (`RoleManager.ROLE_CALL_SCREENING`) and
 * declares [MotpCallScreeningService]. The system then hands that service
 * the number of each incoming call from a number not in the contacts,
 * without READ_CALL_LOG or READ_PHONE_STATE.
 *
 * Opt-in: the library's manifest does not declare the service (an app that
 * does becomes a "caller ID & spam app" the user can pick). A device holds
 * ONE such app: taking the role replaces the user's own spam or caller-ID
 * app while this app holds it. The user gives it back in Settings › Apps ›
 * Default apps › Caller ID & spam app (wording varies by maker); the app
 * can also point there once the verification is done ([settingsIntent]).
 */
public object MotpCallScreening {

    private val active = CopyOnWriteArraySet<MotpVerification>()

    /** Whether this device can grant the role at all (API 29+ with a role for it). */
    @JvmStatic
    public fun isAvailable(context: Context): Boolean {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q) return false
        val roles = context.getSystemService(RoleManager::class.java) ?: return false
        return roles.isRoleAvailable(RoleManager.ROLE_CALL_SCREENING)
    }

    /** Whether this app holds the role and declares [MotpCallScreeningService]: [AutomationLevel.CALL_SCREENING]. */
    @JvmStatic
    public fun isActive(context: Context): Boolean {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q) return false
        val roles = context.getSystemService(RoleManager::class.java) ?: return false
        return roles.isRoleHeld(RoleManager.ROLE_CALL_SCREENING) && declaresService(context)
    }

    /** The system dialog that asks the user for the role; null below API 29. */
    @JvmStatic
    public fun requestRoleIntent(context: Context): Intent? {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.Q) return null
        return context.getSystemService(RoleManager::class.java)?.createRequestRoleIntent(RoleManager.ROLE_CALL_SCREENING)
    }

    /** Where the user picks their caller-ID & spam app again (gives the role back). */
    @JvmStatic
    public fun settingsIntent(): Intent = Intent(android.provider.Settings.ACTION_MANAGE_DEFAULT_APPS_SETTINGS)

    private fun declaresService(context: Context): Boolean = try {
        context.packageManager.getServiceInfo(ComponentName(context, MotpCallScreeningService::class.java), 0)
        true
    } catch (_: PackageManager.NameNotFoundException) {
        false
    }

    internal fun register(verification: MotpVerification) {
        active += verification
    }

    internal fun unregister(verification: MotpVerification) {
        active -= verification
    }

    /** Hands [number] to every running verification; true when one of them matched it. */
    internal fun screen(number: String, observedAtMillis: Long): Boolean {
        var matched = false
        for (verification in active) matched = verification.screen(number, observedAtMillis) || matched
        return matched
    }
}

/**
 * Receives each incoming call while the app holds the call-screening role
 * ([MotpCallScreening]). The number goes to every running verification's
 * core; a call whose number the core matches (the verification call) is
 * let go silently: disallowed, not rejected (the server sees it end, not a
 * "busy"), kept out of the call log and without a missed-call
 * notification. Every other call is allowed, untouched, at once.
 *
 * Declare it in the app's manifest to opt in:
 * ```
 * <service android:name="dev.motp.android.MotpCallScreeningService"
 *     android:permission="android.permission.BIND_SCREENING_SERVICE"
 *     android:exported="true">
 *   <intent-filter><action android:name="android.telecom.CallScreeningService"/></intent-filter>
 * </service>
 * ```
 */
public open class MotpCallScreeningService : CallScreeningService() {

    override fun onScreenCall(callDetails: Call.Details) {
        val incoming = Build.VERSION.SDK_INT < Build.VERSION_CODES.Q ||
            callDetails.callDirection == Call.Details.DIRECTION_INCOMING
        val number = callDetails.handle?.schemeSpecificPart
        val matched = incoming && number != null && MotpCallScreening.screen(number, System.currentTimeMillis())
        respondToCall(callDetails, if (matched) letGoSilently() else allow())
    }

    private fun allow(): CallResponse = CallResponse.Builder().build()

    private fun letGoSilently(): CallResponse = CallResponse.Builder()
        .setDisallowCall(true)
        .setRejectCall(false)
        .setSkipCallLog(true)
        .setSkipNotification(true)
        .build()
}

/**
 * Asks for the call-screening role with the system dialog and answers
 * whether the app holds it afterwards. Below API 29 it answers false at once.
 */
public class RequestCallScreeningRole : ActivityResultContract<Unit, Boolean>() {

    override fun createIntent(context: Context, input: Unit): Intent =
        MotpCallScreening.requestRoleIntent(context) ?: Intent()

    /** The role dialog answers RESULT_OK when the user granted the role. */
    override fun parseResult(resultCode: Int, intent: Intent?): Boolean =
        resultCode == android.app.Activity.RESULT_OK

    override fun getSynchronousResult(context: Context, input: Unit): SynchronousResult<Boolean>? = when {
        Build.VERSION.SDK_INT < Build.VERSION_CODES.Q -> SynchronousResult(false)
        MotpCallScreening.isActive(context) -> SynchronousResult(true)
        else -> null
    }
}
