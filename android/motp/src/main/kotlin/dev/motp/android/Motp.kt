package dev.motp.android

import android.content.Context
import dev.motp.core.MotpConfig
import dev.motp.sdk.MotpClient
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import java.time.Instant

/**
 * Phone-number verification by missed call.
 *
 * ```
 * class VerifyViewModel(app: Application, private val saved: SavedStateHandle) : AndroidViewModel(app) {
 *     private val motp = Motp(app, "https://verify.example.com", "pk_live_…")
 *     val verification = motp.start("+447700900123", viewModelScope)
 * }
 * // in the Activity: collect verification.state (and .callEvents), submitCode, resend, cancel
 * ```
 *
 * Pass `viewModelScope`: a verification lives as long as that scope, and a
 * ViewModel outlives rotation and other configuration changes. Keep
 * [MotpVerification.saved] in the `SavedStateHandle` for process death
 * ([resume]).
 *
 * With READ_PHONE_STATE and READ_CALL_LOG granted ([RequestMotpPermissions])
 * or the call-screening role held ([MotpCallScreening]) the SDK reads the
 * calling number itself and the user types nothing; without them the state
 * goes to `ManualEntry` and the user types the last digits the phone shows
 * (a [CodeEntryView]).
 *
 * Create one per app (it holds the HTTP connection pool) and keep it.
 */
public class Motp internal constructor(
    context: Context,
    private val starter: VerificationStarter,
    private val dispatcher: CoroutineDispatcher,
    private val clock: () -> Long,
    private val homeCountry: String,
    private val resumer: VerificationResumer,
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
    ) : this(context, MotpClient(config), config.homeCountry, dispatcher)

    /** The common case: the home country comes from the SIM, the network or the locale. */
    public constructor(context: Context, serverUrl: String, publishableKey: String) :
        this(context, MotpConfig(serverUrl, publishableKey, requireHomeCountry(context)))

    private constructor(context: Context, client: MotpClient, homeCountry: String, dispatcher: CoroutineDispatcher) :
        this(
            context,
            { phone, visibility, listener -> client.startVerification(phone, visibility, listener) },
            dispatcher,
            System::currentTimeMillis,
            homeCountry,
            { saved, visibility, listener ->
                client.resumeVerification(saved.id, Instant.ofEpochMilli(saved.startedAtMillis), visibility, listener)
            },
        )

    private val appContext = context.applicationContext
    private val terminator = CallTerminator(appContext)

    /**
     * Starts verifying [phoneNumber] (E.164, or national in the home
     * country). Everything the verification registers lives at most as long
     * as [scope]: pass `viewModelScope`, which survives configuration
     * changes (a `lifecycleScope` ends on every rotation and cancels the
     * verification, on the server too).
     *
     * @param automation what to observe; by default what the granted
     *   permissions and the call-screening role allow ([Automation.current]).
     */
    @JvmOverloads
    public fun start(
        phoneNumber: String,
        scope: CoroutineScope,
        automation: Automation = Automation.current(appContext),
    ): MotpVerification =
        MotpVerification(
            appContext,
            { visibility, listener -> starter.start(phoneNumber, visibility, listener) },
            phoneNumber, automation, scope, dispatcher, clock, homeCountry, terminator,
        ).also { it.begin() }

    /**
     * Picks up a verification [saved] before the process was killed: the
     * core fetches its state from the server, and the call log is re-read
     * since it started, so a call that came while no process ran still
     * verifies. A verification that ended meanwhile ends at once with the
     * server's reason (`Expired`, `AlreadyUsed` when it was approved: the
     * token went to the process that died).
     */
    @JvmOverloads
    public fun resume(
        saved: SavedVerification,
        scope: CoroutineScope,
        automation: Automation = Automation.current(appContext),
    ): MotpVerification {
        val open: suspend (dev.motp.core.CallVisibility, dev.motp.core.VerificationListener) -> dev.motp.sdk.VerificationInterface =
            { visibility, listener -> resumer.resume(saved, visibility, listener) }
        return MotpVerification(
            appContext, open, saved.phoneNumber, automation, scope, dispatcher, clock, homeCountry, terminator,
            startedAtMillis = saved.startedAtMillis,
        ).also { it.begin() }
    }

    internal companion object {
        fun requireHomeCountry(context: Context): String = requireNotNull(HomeCountry.detect(context)) {
            "No home country from SIM, network or locale: pass a MotpConfig with homeCountry"
        }
    }
}
