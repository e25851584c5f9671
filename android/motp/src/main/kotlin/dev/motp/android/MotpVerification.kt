package dev.motp.android

import android.app.Activity
import android.app.Application
import android.content.Context
import android.os.Bundle
import dev.motp.core.CallEvent
import dev.motp.core.CallVisibility
import dev.motp.core.CallerIdMatch
import dev.motp.core.CallerInfo
import dev.motp.core.MotpException
import dev.motp.core.VerificationListener
import dev.motp.core.VerificationState
import dev.motp.sdk.MissedCallMatcher
import dev.motp.sdk.VerificationInterface
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.time.Instant

/**
 * One running verification: its [state] as a `Flow`, and the few things an
 * app can do with it. Obtained from [Motp.start].
 *
 * The states are the core's ([VerificationState]): `Requesting`,
 * `AwaitingCall`, `ManualEntry`, `Verifying`, then one final state. The core
 * is told at the start what this phone can see of calls ([callVisibility]);
 * without the permissions to read the calling number it goes from
 * `Requesting` straight to `ManualEntry(PERMISSION_MISSING)`, after a resend
 * too. Every sighting of an incoming call goes to the core, which decides
 * which one counts (and retries a check the network lost).
 *
 * It owns everything it registered (phone-state receiver, call-log
 * observer, activity callbacks, its place in the call-screening service)
 * and removes all of it *before* a final state is published: on
 * completion, on [cancel] or [close], when the scope given to [Motp.start]
 * ends (pass `viewModelScope`: it outlives rotation and other
 * configuration changes), or when an Activity it is bound to ([bindTo]) is
 * destroyed for good.
 *
 * To survive process death, keep [saved] (a `Parcelable`) in the
 * `SavedStateHandle` and hand it to [Motp.resume] in the new process.
 */
public class MotpVerification internal constructor(
    context: Context,
    /** Asks the core for the verification: a new one, or one resumed after process death. */
    private val open: suspend (CallVisibility, VerificationListener) -> VerificationInterface,
    private val phoneNumber: String,
    /** What the granted permissions allow for this verification. */
    public val automation: Automation,
    parentScope: CoroutineScope,
    private val dispatcher: CoroutineDispatcher,
    private val clock: () -> Long,
    /** ISO 3166 alpha-2: the core's matcher reads national numbers with it. */
    private val homeCountry: String,
    private val terminator: CallTerminator,
    /** When the verification started, by this phone's clock: calls from then on count. */
    private val startedAtMillis: Long = clock(),
) : AutoCloseable {

    private val appContext = context.applicationContext
    private val job = SupervisorJob(parentScope.coroutineContext[Job])
    private val scope = CoroutineScope(parentScope.coroutineContext + job + dispatcher)
    private val handle = CompletableDeferred<VerificationInterface>()
    private val lock = Any()
    private var detector: CallDetector? = null
    private var unbind: (() -> Unit)? = null
    private val observed = ArrayList<ObservedCall>()

    @Volatile
    private var started: VerificationInterface? = null

    private val mutableState = MutableStateFlow<VerificationState>(VerificationState.Requesting)
    private val mutableRinging = MutableSharedFlow<Int?>(extraBufferCapacity = 4)

    // Few per verification (ringing, delivered or failed, a re-read; again after a
    // resend): all are replayed to a collector that starts late.
    private val mutableCallEvents = MutableSharedFlow<CallEvent>(replay = 16, extraBufferCapacity = 16)

    private val matcherLock = Any()
    private var matcher: MissedCallMatcher? = null

    /** The state, from `Requesting` to one final state (`isFinal()`). */
    public val state: StateFlow<VerificationState> = mutableState.asStateFlow()

    /**
     * Emits each time the phone rings while its number cannot be read: the
     * moment for [CodeEntryView.focusCode]. At [AutomationLevel.RING_NUDGE]
     * from the number-less phone-state broadcast (with the SIM slot when
     * an OEM build names it), and at RING_NUDGE and [AutomationLevel.MANUAL]
     * when the server reports the call ringing (`CallEvent.Ringing`, null
     * slot; no permission needed). Never at the levels that read the number.
     */
    public val ringing: SharedFlow<Int?> = mutableRinging.asSharedFlow()

    /**
     * What the server reports about the call while the app waits, and what
     * the core asks: `CallEvent.Ringing`, `Delivered`, `Failed(reason)` (the
     * call could not be delivered, e.g. `busy`: offer a resend or typing; the
     * state is already `ManualEntry`), `RereadCallLog` (handled by the SDK).
     * Replayed to late collectors; ends with the verification.
     */
    public val callEvents: SharedFlow<CallEvent> = mutableCallEvents.asSharedFlow()

    /**
     * What to keep in a `SavedStateHandle` (or a `Bundle`) so that a new
     * process can [Motp.resume] this verification; null until the server
     * answered.
     */
    public val saved: SavedVerification?
        get() {
            val verification = started ?: return null
            val info = try {
                verification.info()
            } catch (_: Exception) {
                return null
            }
            return SavedVerification(
                id = info.id,
                phoneNumber = info.phoneNumber,
                callerPrefix = info.caller.prefix,
                codeLength = info.caller.codeLength.toInt(),
                startedAtMillis = startedAtMillis,
                expiresAtMillis = info.expiresAt.toEpochMilli(),
            )
        }

    /** Every sighting handed to the core, in order, repeats included; for diagnostics. Numbers are the code: do not log them. */
    public val observedCalls: List<ObservedCall> get() = synchronized(lock) { observed.toList() }

    /** Whether a receiver or observer of this verification is still registered. */
    public val isObserving: Boolean get() = synchronized(lock) { detector?.isRegistered == true }

    /**
     * What this phone can see of incoming calls, as the core is told at the
     * start: the numbers when the level is [AutomationLevel.AUTOMATIC] or
     * [AutomationLevel.CALL_SCREENING], otherwise `PERMISSION_MISSING` (the
     * core then asks for the typed code).
     */
    public val callVisibility: CallVisibility = when (automation.level) {
        AutomationLevel.AUTOMATIC, AutomationLevel.CALL_SCREENING -> CallVisibility.NUMBERS
        AutomationLevel.RING_NUDGE, AutomationLevel.MANUAL -> CallVisibility.PERMISSION_MISSING
    }

    @Volatile
    private var callerInfo: CallerInfo? = null

    /** What the calling number looks like, once the server answered (for [CodeEntryView.setCaller]). */
    public suspend fun caller(): CallerInfo {
        callerInfo?.let { return it }
        return started().caller().also { callerInfo = it }
    }

    private val listener = object : VerificationListener {
        override fun onStateChanged(state: VerificationState) = publish(state)
    }

    internal fun begin() {
        // Watch before asking for the call: it may ring before the server's answer arrives.
        if (automation.callScreening) MotpCallScreening.register(this)
        if (automation.ringingBroadcast || automation.callLog) {
            val watcher = CallDetector(
                context = appContext,
                automation = automation,
                sinceMillis = startedAtMillis,
                scope = scope,
                clock = clock,
                onRingingWithoutNumber = { slot -> mutableRinging.tryEmit(slot) },
                onCall = ::deliver,
            )
            synchronized(lock) { detector = watcher }
            watcher.start()
        }
        // The scope given to Motp.start ends (screen closed): clean up and cancel on
        // the server. Unconfined + undispatched, the `finally` runs inside the
        // caller's cancel(), so nothing is left registered once that returns.
        scope.launch(Dispatchers.Unconfined, start = CoroutineStart.UNDISPATCHED) {
            try {
                awaitCancellation()
            } finally {
                finish(VerificationState.Canceled, cancelOnServer = true)
            }
        }
        scope.launch {
            try {
                val verification = open(callVisibility, listener)
                callerInfo = verification.caller()
                started = verification
                handle.complete(verification)
                if (mutableState.value.isFinal()) {
                    // Canceled while the request was in flight.
                    release(verification, cancel = true)
                    return@launch
                }
                publish(verification.state())
                followCallEvents(verification)
            } catch (e: CancellationException) {
                throw e
            } catch (e: MotpException) {
                handle.completeExceptionally(e)
                finish(VerificationState.Failed(e), cancelOnServer = false)
            } catch (e: Exception) {
                handle.completeExceptionally(e)
                finish(VerificationState.Failed(MotpException.Internal(e.toString())), cancelOnServer = false)
            }
        }
    }

    /**
     * Checks a code typed by the user and returns the token. Throws the
     * core's error, e.g. `MotpException.WrongCode` with the attempts left;
     * the outcome also arrives in [state].
     */
    public suspend fun submitCode(code: String): String {
        val verification = active()
        return withContext(dispatcher) { verification.submitCode(code) }
    }

    /** Asks for a new call (new code). Throws `MotpException.RateLimited` when too early. */
    public suspend fun resend() {
        val verification = active()
        withContext(dispatcher) { verification.resend() }
    }

    /** The core's verification, or the core's own error once this one has ended (its native object is freed). */
    private suspend fun active(): VerificationInterface {
        val verification = started()
        if (mutableState.value.isFinal()) throw MotpException.InvalidState("the verification has ended")
        return verification
    }

    /** Waits for the server's answer; a verification canceled before it is `MotpException.Canceled`, not a coroutine cancellation. */
    private suspend fun started(): VerificationInterface {
        if (handle.isCancelled) throw MotpException.Canceled()
        return try {
            handle.await()
        } catch (e: CancellationException) {
            if (handle.isCancelled) throw MotpException.Canceled() else throw e
        }
    }

    /**
     * Stops the verification: unregisters everything at once, publishes
     * `Canceled`, and tells the server in the background. Does nothing once
     * the state is final.
     */
    public fun cancel() {
        finish(VerificationState.Canceled, cancelOnServer = true)
    }

    /** Same as [cancel]. */
    override fun close() {
        cancel()
    }

    /**
     * Cancels this verification when [activity] is destroyed for good (not
     * for a configuration change). With `lifecycleScope` or `viewModelScope`
     * passed to [Motp.start] this is not needed.
     */
    public fun bindTo(activity: Activity): MotpVerification {
        val application = activity.application
        val callbacks = object : Application.ActivityLifecycleCallbacks {
            override fun onActivityDestroyed(destroyed: Activity) {
                if (destroyed === activity && !destroyed.isChangingConfigurations) cancel()
            }

            override fun onActivityCreated(a: Activity, savedInstanceState: Bundle?) = Unit
            override fun onActivityStarted(a: Activity) = Unit
            override fun onActivityResumed(a: Activity) = Unit
            override fun onActivityPaused(a: Activity) = Unit
            override fun onActivityStopped(a: Activity) = Unit
            override fun onActivitySaveInstanceState(a: Activity, outState: Bundle) = Unit
        }
        application.registerActivityLifecycleCallbacks(callbacks)
        synchronized(lock) {
            unbind?.invoke()
            unbind = { application.unregisterActivityLifecycleCallbacks(callbacks) }
        }
        if (state.value.isFinal()) releaseBinding()
        return this
    }

    /**
     * Hands one sighting to the core, whatever came before: a repeat of a
     * call already being checked or refused is dropped there, and the
     * sighting of a call whose check failed in transit is checked again.
     *
     * A ringing call whose number the core matches on the device is ended
     * first (with ANSWER_PHONE_CALLS), before the server's round trip, and
     * only when it is the only call ([CallTerminator]).
     */
    private suspend fun deliver(call: ObservedCall) {
        synchronized(lock) { observed += call }
        val verification = try {
            handle.await()
        } catch (e: CancellationException) {
            throw e
        } catch (_: Exception) {
            return // The request failed: nothing to verify.
        }
        if (call.source == ObservedCall.Source.RINGING && automation.endCall && matchesLocally(call.number)) {
            synchronized(lock) { detector }?.let { terminator.endLoneRingingCall(it.calls) }
        }
        try {
            verification.onIncomingCall(call.number, Instant.ofEpochMilli(call.observedAtMillis))
        } catch (e: CancellationException) {
            throw e
        } catch (_: MotpException) {
            // The server's verdict (wrong code) or a network error: the outcome, and
            // that of the core's own retries, reaches the app through the state.
        }
    }

    /**
     * Whether the core's matcher reads the code out of [number] under the
     * current caller pattern (it changes after a resend or a trunk
     * failover). Local only: the server still decides.
     */
    private fun matchesLocally(number: String): Boolean {
        val verification = started ?: return false
        synchronized(matcherLock) {
            if (mutableState.value.isFinal()) return false
            return try {
                val caller = verification.caller()
                val current = matcher?.takeIf { it.pattern() == caller }
                    ?: MissedCallMatcher(caller, homeCountry).also { fresh ->
                        matcher?.close()
                        matcher = fresh
                    }
                current.matchNumber(number) is CallerIdMatch.Code
            } catch (_: MotpException) {
                false
            }
        }
    }

    /**
     * From [MotpCallScreeningService]: a call is being screened. Hands the
     * number to the core and answers whether the core's matcher reads this
     * verification's code from it (then the service lets it go silently).
     */
    internal fun screen(number: String, observedAtMillis: Long): Boolean {
        if (mutableState.value.isFinal()) return false
        val matched = matchesLocally(number)
        val call = ObservedCall(number, observedAtMillis, ObservedCall.Source.SCREENING)
        scope.launch { deliver(call) }
        return matched
    }

    /** Follows the core's call events until the verification ends. */
    private fun followCallEvents(verification: VerificationInterface) {
        scope.launch {
            while (true) {
                val event = try {
                    verification.nextCallEvent()
                } catch (e: CancellationException) {
                    throw e
                } catch (_: MotpException) {
                    null
                } ?: break
                when (event) {
                    is CallEvent.Ringing -> when (automation.level) {
                        AutomationLevel.RING_NUDGE, AutomationLevel.MANUAL -> mutableRinging.tryEmit(null)
                        AutomationLevel.AUTOMATIC, AutomationLevel.CALL_SCREENING -> Unit
                    }
                    is CallEvent.RereadCallLog -> synchronized(lock) { detector }?.rereadCallLog()
                    is CallEvent.Delivered, is CallEvent.Failed -> Unit
                }
                mutableCallEvents.emit(event)
            }
        }
    }

    private fun publish(coreState: VerificationState) {
        if (coreState.isFinal()) {
            finish(coreState, cancelOnServer = false)
            return
        }
        // Until the core handed the verification over, stay `Requesting`: once the
        // app sees a waiting state, [saved] and [caller] answer at once. The state
        // is published again right after.
        if (started == null) return
        synchronized(lock) {
            if (!mutableState.value.isFinal()) mutableState.value = coreState
        }
    }

    /** Tears everything down, then publishes [final]; only the first call counts. */
    private fun finish(final: VerificationState, cancelOnServer: Boolean) {
        synchronized(lock) {
            if (mutableState.value.isFinal()) return
            detector?.stop()
            detector = null
            mutableState.value = final
        }
        MotpCallScreening.unregister(this)
        synchronized(matcherLock) {
            matcher?.close()
            matcher = null
        }
        releaseBinding()
        started?.let { release(it, cancel = cancelOnServer) }
        // A request still in flight is dropped (the core withdraws it).
        handle.cancel()
        job.cancel()
    }

    /** Tells the server (when asked) and frees the native object, off the caller's thread. */
    private fun release(verification: VerificationInterface, cancel: Boolean) {
        // Outlives this verification's scope on purpose: that scope may be what just ended.
        CoroutineScope(dispatcher + NonCancellable).launch {
            if (cancel) {
                try {
                    verification.cancel()
                } catch (_: MotpException) {
                    // The server could not be told; the verification expires there by itself.
                }
            }
            (verification as? AutoCloseable)?.close()
        }
    }

    private fun releaseBinding() {
        val release = synchronized(lock) { unbind.also { unbind = null } }
        release?.invoke()
    }
}

/** Starts a verification in the core; [Motp] uses the generated `MotpClient`. */
internal fun interface VerificationStarter {
    suspend fun start(phoneNumber: String, visibility: CallVisibility, listener: VerificationListener): VerificationInterface
}

/**
 * Attaches to a verification the server already runs (after process
 * death). The core has no such call yet (see [Motp.resume]); tests fake it.
 */
internal fun interface VerificationResumer {
    suspend fun resume(saved: SavedVerification, visibility: CallVisibility, listener: VerificationListener): VerificationInterface
}
