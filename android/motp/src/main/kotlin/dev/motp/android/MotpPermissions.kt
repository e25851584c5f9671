package dev.motp.android

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import androidx.activity.result.contract.ActivityResultContract
import androidx.activity.result.contract.ActivityResultContracts

/**
 * The runtime permissions behind each [AutomationLevel].
 *
 * - READ_PHONE_STATE + READ_CALL_LOG: [AutomationLevel.AUTOMATIC] on every
 *   API level, both detection paths (zero typing).
 * - add ANSWER_PHONE_CALLS (API 28+): the matched flash call is also ended,
 *   only when it is the only call (never during another call).
 * - READ_PHONE_STATE alone on API 28+: [AutomationLevel.RING_NUDGE].
 * - nothing: [AutomationLevel.MANUAL]; the user types the code.
 *
 * READ_CALL_LOG is restricted on Google Play, so the library's manifest
 * does not declare it: an app that qualifies adds
 * `<uses-permission android:name="android.permission.READ_CALL_LOG"/>` itself
 * (README, "Google Play"). Asking for an undeclared permission is simply
 * denied, without a dialog, so the helpers here work either way.
 */
public object MotpPermissions {

    /** Permissions for zero typing. */
    @JvmStatic
    public fun automatic(): List<String> =
        listOf(Manifest.permission.READ_PHONE_STATE, Manifest.permission.READ_CALL_LOG)

    /** [automatic] plus, where it has an effect (API 28+), ending the call. */
    @JvmStatic
    public fun all(sdkInt: Int = Build.VERSION.SDK_INT): List<String> =
        if (sdkInt >= Build.VERSION_CODES.P) automatic() + Manifest.permission.ANSWER_PHONE_CALLS else automatic()

    /** Permissions of [all] not granted yet. */
    @JvmStatic
    public fun missing(context: Context): List<String> =
        all().filter { context.checkSelfPermission(it) != PackageManager.PERMISSION_GRANTED }

    /** Whether to show the app's own explanation before asking again. */
    @JvmStatic
    public fun shouldShowRationale(activity: Activity): Boolean =
        missing(activity).any { activity.shouldShowRequestPermissionRationale(it) }
}

/**
 * Asks for the permissions of [MotpPermissions] and answers with the
 * [Automation] they give. A refusal is a normal answer
 * ([AutomationLevel.MANUAL]), not an error: start the verification anyway and
 * it falls back to manual entry.
 *
 * ```
 * val ask = registerForActivityResult(RequestMotpPermissions()) { automation -> startVerification() }
 * ask.launch(Unit)
 * ```
 *
 * Google Play requires an in-app prominent disclosure *before* this system
 * dialog (see the README).
 *
 * @param endCall also ask for ANSWER_PHONE_CALLS (API 28+) to end the call at once.
 */
public class RequestMotpPermissions(
    private val endCall: Boolean = true,
) : ActivityResultContract<Unit, Automation>() {

    private val delegate = ActivityResultContracts.RequestMultiplePermissions()

    private fun permissions(): Array<String> =
        (if (endCall) MotpPermissions.all() else MotpPermissions.automatic()).toTypedArray()

    override fun createIntent(context: Context, input: Unit): Intent =
        delegate.createIntent(context, permissions())

    override fun parseResult(resultCode: Int, intent: Intent?): Automation =
        Automation.of(delegate.parseResult(resultCode, intent).grantedSet())

    override fun getSynchronousResult(context: Context, input: Unit): SynchronousResult<Automation>? =
        delegate.getSynchronousResult(context, permissions())?.let {
            SynchronousResult(Automation.of(it.value.grantedSet()))
        }

    private fun Map<String, Boolean>.grantedSet(): Set<String> = filterValues { it }.keys
}
