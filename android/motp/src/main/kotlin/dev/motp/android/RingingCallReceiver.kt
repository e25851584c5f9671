package dev.motp.android

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.telephony.TelephonyManager

/**
 * Detection path (a): the phone-state broadcast while the phone rings.
 *
 * `TelephonyCallback` (API 31+) reports the ringing state but never the
 * number, so the broadcast is the only way to read it live. The system sends
 * it to holders of READ_PHONE_STATE; from API 28 the copy that carries
 * [TelephonyManager.EXTRA_INCOMING_NUMBER] goes only to apps that also hold
 * READ_CALL_LOG (the other copy comes without the number). A dual-SIM phone
 * sends one per SIM, naming the slot in the extras: this one receiver hears
 * every SIM. The slot only goes with the ring nudge
 * ([AutomationLevel.RING_NUDGE]); a sighting with a number goes to the core
 * without it (the core has no use for it).
 *
 * Registered by [CallDetector] only while a verification waits for its call.
 */
internal class RingingCallReceiver(
    private val slots: SimSlots,
    private val clock: () -> Long,
    private val onCall: (ObservedCall) -> Unit,
    private val onRingingWithoutNumber: (simSlot: Int?) -> Unit,
) : BroadcastReceiver() {

    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != TelephonyManager.ACTION_PHONE_STATE_CHANGED) return
        if (intent.getStringExtra(TelephonyManager.EXTRA_STATE) != TelephonyManager.EXTRA_STATE_RINGING) return
        // Deprecated in API 29 in favour of CallScreeningService, which only the
        // user's chosen screening app receives; still delivered with READ_CALL_LOG.
        @Suppress("DEPRECATION")
        val number = if (intent.hasExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)) {
            intent.getStringExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)
        } else {
            null
        }
        if (number == null) {
            onRingingWithoutNumber(slots.slotOf(intent))
        } else {
            onCall(ObservedCall(number, clock(), ObservedCall.Source.RINGING))
        }
    }
}
