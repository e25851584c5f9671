package dev.motp.android

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.telephony.TelephonyManager

/**
 * Detection path (a): the phone-state broadcast.
 *
 * `TelephonyCallback` (API 31+) reports the ringing state but never the
 * number, so the broadcast is the only way to read it live. What the
 * system sends for one ringing call (AOSP `TelephonyRegistry`):
 * - API 26–27: once, with [TelephonyManager.EXTRA_INCOMING_NUMBER], to
 *   holders of READ_PHONE_STATE;
 * - API 28+: a copy *without* the number to holders of READ_PHONE_STATE,
 *   then a copy *with* it to holders of READ_PHONE_STATE and READ_CALL_LOG:
 *   an app holding both receives both, in that order.
 * The public broadcast is the phone-wide one: AOSP sends it without slot or
 * subscription extras (some OEM builds add them; [SimSlots] reads them when
 * present).
 *
 * Every state goes to [onState] (the [CallStateTracker], and IDLE re-reads
 * the call log); a ringing copy with a number goes to the core as a
 * sighting; a ringing copy without one nudges the code field, and only when
 * [nudge] (level [AutomationLevel.RING_NUDGE]): at [AutomationLevel.AUTOMATIC]
 * it is the first of a pair whose second copy carries the number.
 *
 * Registered by [CallDetector] only while a verification waits for its call.
 */
internal class RingingCallReceiver(
    private val slots: SimSlots,
    private val clock: () -> Long,
    private val nudge: Boolean,
    private val onState: (state: String) -> Unit,
    private val onCall: (ObservedCall) -> Unit,
    private val onRingingWithoutNumber: (simSlot: Int?) -> Unit,
) : BroadcastReceiver() {

    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != TelephonyManager.ACTION_PHONE_STATE_CHANGED) return
        val state = intent.getStringExtra(TelephonyManager.EXTRA_STATE) ?: return
        onState(state)
        if (state != TelephonyManager.EXTRA_STATE_RINGING) return
        // Deprecated in API 29 in favour of CallScreeningService, which only the
        // user's chosen screening app receives; still delivered with READ_CALL_LOG.
        @Suppress("DEPRECATION")
        val number = if (intent.hasExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)) {
            intent.getStringExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)
        } else {
            null
        }
        if (number == null) {
            if (nudge) onRingingWithoutNumber(slots.slotOf(intent))
        } else {
            // An empty or withheld number is a sighting too: the core says why it is not ours.
            onCall(ObservedCall(number, clock(), ObservedCall.Source.RINGING))
        }
    }
}
