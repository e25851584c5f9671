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
 * sends one per SIM, naming the slot in the extras.
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
        val slot = slots.slotOf(intent)
        // Deprecated in API 29 in favour of CallScreeningService, which only the
        // user's chosen screening app receives; still delivered with READ_CALL_LOG.
        @Suppress("DEPRECATION")
        val number = if (intent.hasExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)) {
            intent.getStringExtra(TelephonyManager.EXTRA_INCOMING_NUMBER)
        } else {
            null
        }
        if (number == null) {
            onRingingWithoutNumber(slot)
        } else {
            onCall(ObservedCall(number, clock(), slot, ObservedCall.Source.RINGING))
        }
    }
}
