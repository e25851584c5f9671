package dev.motp.android

import android.telecom.TelecomManager
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements
import org.robolectric.shadows.ShadowTelecomManager
import java.util.concurrent.atomic.AtomicInteger

/**
 * Robolectric's Telecom shadow, counting `endCall()`: the real
 * [CallTerminator] runs against it (the stock shadow answers false and
 * records nothing).
 */
@Implements(TelecomManager::class)
class RecordingTelecomManager : ShadowTelecomManager() {
    val ended = AtomicInteger()

    @Implementation
    override fun endCall(): Boolean {
        ended.incrementAndGet()
        return true
    }
}
