package dev.motp.android

import android.content.Context
import dev.motp.core.MotpConfig
import dev.motp.sdk.MotpClient
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers

/**
 * Phone-number verification by missed call.
 *
 * ```
 * val motp = Motp(context, "https://verify.example.com", "pk_live_…")
 * val verification = motp.start("+447700900123", lifecycleScope)
 * lifecycleScope.launch { verification.state.collect { render(it) } }
 * codeEntry.onCodeComplete = { code -> lifecycleScope.launch { verification.submitCode(code) } }
 * // verification.resend(), verification.cancel()
 * ```
 *
 * With READ_PHONE_STATE and READ_CALL_LOG granted ([RequestMotpPermissions])
 * the SDK reads the calling number itself and the user types nothing;
 * without them the state goes to `ManualEntry` and the user types the last
 * digits the phone shows (a [CodeEntryView]).
 *
 * Create one per app (it holds the HTTP connection pool) and keep it.
 */
public class Motp internal constructor(
    context: Context,
    private val starter: VerificationStarter,
    private val dispatcher: CoroutineDispatcher,
    private val clock: () -> Long,
    private val endRingingCall: (() -> Boolean)?,
) {
    /**
     * @param config server URL, publishable key, home country (see [HomeCountry]), timeouts.
     * @param dispatcher where the SDK's blocking work (call-log reads) runs.
     * @throws dev.motp.core.MotpException.InvalidInput for a malformed configuration.
     */
    @JvmOverloads
    public constructor(
        context: Context,
        config: MotpConfig,
        dispatcher: CoroutineDispatcher = Dispatchers.IO,
    ) : this(context, MotpClient(config), dispatcher)

    /** The common case: the home country comes from the SIM, the network or the locale. */
    public constructor(context: Context, serverUrl: String, publishableKey: String) :
        this(context, MotpConfig(serverUrl, publishableKey, requireHomeCountry(context)))

    private constructor(context: Context, client: MotpClient, dispatcher: CoroutineDispatcher) :
        this(
            context,
            { phone, visibility, listener -> client.startVerification(phone, visibility, listener) },
            dispatcher,
            System::currentTimeMillis,
            null,
        )

    private val appContext = context.applicationContext
    private val terminator = CallTerminator(appContext)

    /**
     * Starts verifying [phoneNumber] (E.164, or national in the home
     * country). Everything the verification registers lives at most as long
     * as [scope]: pass `lifecycleScope` or `viewModelScope`.
     *
     * @param automation what to observe; by default what the granted
     *   permissions allow ([Automation.current]).
     */
    @JvmOverloads
    public fun start(
        phoneNumber: String,
        scope: CoroutineScope,
        automation: Automation = Automation.current(appContext),
    ): MotpVerification =
        MotpVerification(
            appContext, starter, phoneNumber, automation, scope, dispatcher, clock,
            endRingingCall ?: terminator::endRingingCall,
        ).also { it.begin() }

    private companion object {
        fun requireHomeCountry(context: Context): String = requireNotNull(HomeCountry.detect(context)) {
            "No home country from SIM, network or locale: pass a MotpConfig with homeCountry"
        }
    }
}
