package dev.motp.android

import android.app.Activity
import android.app.Application
import android.content.Context
import android.content.IntentFilter
import android.database.ContentObserver
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.provider.CallLog
import android.telephony.TelephonyManager
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch

/**
 * Watches for the verification call on both paths at once, for every SIM:
 * the ringing broadcast with its number ([RingingCallReceiver]) and the call
 * log ([CallLogReader], re-read whenever the log changes). Every sighting
 * goes to [onCall], the same call seen twice included (ringing, then its
 * call-log row): matching, and deciding which sighting of a call counts,
 * are the core's business. Only a call-log row already handed over is not
 * handed over again when the log is re-read.
 *
 * The call log is re-read since the verification started whenever it
 * changes, and also when the app comes back to the foreground (its first
 * activity starts: a cached app's observer and receiver are held back on
 * Android 14+, so nothing may have been heard meanwhile), when the phone
 * returns to IDLE (the row of the call that just ended is written), and
 * when the core asks ([rereadCallLog], `CallEvent.RereadCallLog`).
 *
 * [start] registers the receiver, the observer and the activity callbacks;
 * [stop] removes all of them and is idempotent. Nothing is registered
 * outside that window.
 */
internal class CallDetector(
    context: Context,
    private val automation: Automation,
    private val sinceMillis: Long,
    private val scope: CoroutineScope,
    private val clock: () -> Long = System::currentTimeMillis,
    private val onRingingWithoutNumber: (simSlot: Int?) -> Unit = {},
    private val onCall: suspend (ObservedCall) -> Unit,
) {
    private val appContext = context.applicationContext
    private val slots = SimSlots(appContext)
    private val reader = CallLogReader(appContext.contentResolver)

    /** The phone's call state, from the broadcasts (for ending only a lone flash call). */
    val calls: CallStateTracker = CallStateTracker.of(appContext)
    private var foreground: Application.ActivityLifecycleCallbacks? = null

    private var receiver: RingingCallReceiver? = null
    private var observer: ContentObserver? = null
    private var reReads: Channel<Unit>? = null
    private var reReadJob: Job? = null

    /** Whether a receiver or an observer is currently registered. */
    val isRegistered: Boolean
        @Synchronized get() = receiver != null || observer != null

    @Synchronized
    fun start() {
        if (isRegistered) return
        if (automation.ringingBroadcast) registerReceiver()
        if (automation.callLog) {
            registerObserver()
            registerForeground()
        }
    }

    /** Re-reads the call log since the start now (no effect without READ_CALL_LOG). */
    fun rereadCallLog() {
        reReads?.trySend(Unit)
    }

    @Synchronized
    fun stop() {
        receiver?.let { appContext.unregisterReceiver(it) }
        receiver = null
        observer?.let { appContext.contentResolver.unregisterContentObserver(it) }
        observer = null
        foreground?.let { (appContext as? Application)?.unregisterActivityLifecycleCallbacks(it) }
        foreground = null
        reReads?.close()
        reReads = null
        reReadJob?.cancel()
        reReadJob = null
    }

    private fun registerReceiver() {
        val ringing = RingingCallReceiver(
            slots = slots,
            clock = clock,
            nudge = automation.level == AutomationLevel.RING_NUDGE,
            onState = { state ->
                calls.onState(state)
                // The call ended: its row is being written (the observer hears it too,
                // unless the app is cached).
                if (state == TelephonyManager.EXTRA_STATE_IDLE) rereadCallLog()
            },
            onCall = ::report,
            onRingingWithoutNumber = onRingingWithoutNumber,
        )
        val filter = IntentFilter(TelephonyManager.ACTION_PHONE_STATE_CHANGED)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            // A protected system broadcast still reaches a non-exported receiver;
            // no other app can reach this one.
            appContext.registerReceiver(ringing, filter, Context.RECEIVER_NOT_EXPORTED)
        } else {
            appContext.registerReceiver(ringing, filter)
        }
        receiver = ringing
    }

    private fun registerObserver() {
        // Conflated: a burst of changes costs one re-read, and reads never overlap.
        val requests = Channel<Unit>(Channel.CONFLATED)
        val seenRows = HashSet<Long>()
        reReadJob = scope.launch {
            for (request in requests) {
                val rows = try {
                    reader.readSince(sinceMillis)
                } catch (_: SecurityException) {
                    // READ_CALL_LOG revoked mid-verification: the other path remains.
                    emptyList()
                }
                // Oldest first, so several calls reach the core in the order they rang.
                for (row in rows.asReversed()) {
                    if (seenRows.add(row.id)) report(row.call)
                }
            }
        }
        // No Handler: onChange only queues a re-read, from whichever thread.
        val logObserver = object : ContentObserver(null) {
            override fun onChange(selfChange: Boolean) {
                requests.trySend(Unit)
            }

            override fun onChange(selfChange: Boolean, uri: Uri?) {
                requests.trySend(Unit)
            }
        }
        appContext.contentResolver.registerContentObserver(CallLog.Calls.CONTENT_URI, true, logObserver)
        observer = logObserver
        reReads = requests
        // A call logged before the observer was registered is still read once.
        requests.trySend(Unit)
    }

    /**
     * ON_START of the app (ProcessLifecycleOwner's signal, without androidx):
     * its first activity starts after none was started.
     */
    private fun registerForeground() {
        val application = appContext as? Application ?: return
        val callbacks = object : Application.ActivityLifecycleCallbacks {
            private var started = 0

            override fun onActivityStarted(activity: Activity) {
                if (started++ == 0) rereadCallLog()
            }

            override fun onActivityStopped(activity: Activity) {
                started = maxOf(0, started - 1)
            }

            override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) = Unit
            override fun onActivityResumed(activity: Activity) = Unit
            override fun onActivityPaused(activity: Activity) = Unit
            override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) = Unit
            override fun onActivityDestroyed(activity: Activity) = Unit
        }
        application.registerActivityLifecycleCallbacks(callbacks)
        foreground = callbacks
    }

    private fun report(call: ObservedCall) {
        scope.launch { onCall(call) }
    }
}
