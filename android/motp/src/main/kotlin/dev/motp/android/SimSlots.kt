package dev.motp.android

import android.annotation.SuppressLint
import android.content.Context
import android.content.Intent
import android.os.Build
import android.telephony.SubscriptionManager

/**
 * Finds which SIM slot a ringing call arrived on, for the ring nudge
 * ([MotpVerification.ringing]).
 *
 * The phone-state broadcast is sent once per SIM and names it through
 * extras, and the call log holds the calls of every SIM: neither needs a
 * listener per SIM, so one receiver and one observer cover a dual-SIM
 * phone. Sightings go to the core without their slot, which it has no use
 * for.
 */
internal class SimSlots(private val context: Context) {

    /** Slot named by a phone-state broadcast, or null when it names none. */
    fun slotOf(intent: Intent): Int? {
        // Public since API 30.
        intent.intOrNull(SubscriptionManager.EXTRA_SLOT_INDEX)?.let { return it }
        // The same values under the names telephony used before API 30
        // (PhoneConstants.SLOT_KEY / SUBSCRIPTION_KEY), still sent today.
        intent.intOrNull(LEGACY_SLOT_KEY)?.let { return it }
        val subId = intent.intOrNull(SubscriptionManager.EXTRA_SUBSCRIPTION_INDEX)
            ?: intent.intOrNull(LEGACY_SUBSCRIPTION_KEY)
            ?: return null
        return slotOfSubscription(subId)
    }

    private fun slotOfSubscription(subId: Int): Int? {
        if (subId < 0) return null
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            val slot = SubscriptionManager.getSlotIndex(subId)
            if (slot != SubscriptionManager.INVALID_SIM_SLOT_INDEX) return slot
        }
        return activeSubscriptions().firstOrNull { it.subscriptionId == subId }?.slot
    }

    /** Active SIMs; empty without READ_PHONE_STATE. */
    @SuppressLint("MissingPermission") // Checked: SecurityException -> empty.
    fun activeSubscriptions(): List<ActiveSim> {
        val manager = context.getSystemService(SubscriptionManager::class.java) ?: return emptyList()
        return try {
            manager.activeSubscriptionInfoList.orEmpty().map {
                ActiveSim(subscriptionId = it.subscriptionId, slot = it.simSlotIndex)
            }
        } catch (_: SecurityException) {
            emptyList()
        }
    }

    data class ActiveSim(val subscriptionId: Int, val slot: Int)

    private fun Intent.intOrNull(key: String): Int? =
        if (hasExtra(key)) getIntExtra(key, NONE).takeIf { it != NONE && it >= 0 } else null

    companion object {
        const val LEGACY_SLOT_KEY = "slot"
        const val LEGACY_SUBSCRIPTION_KEY = "subscription"
        private const val NONE = Int.MIN_VALUE
    }
}
