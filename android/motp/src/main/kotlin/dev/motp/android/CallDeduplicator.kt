package dev.motp.android

import kotlin.math.abs

/**
 * Lets the first sighting of a call through and drops the others.
 *
 * Both detection paths see the same missed call: the phone-state broadcast
 * while it rings, and the call log once it has ended. Numbers can come in
 * different presentations (`02079460123` from the radio, `+442079460123`
 * from the call log), so two sightings are the same call when their last
 * [minMatchDigits] digits agree (Android's own `PhoneNumberUtils.compare`
 * uses a 7-digit minimum match) and their times lie within [windowMillis].
 * A resend calls from a different number (a new code), so it is never
 * mistaken for a repeat.
 *
 * Thread-safe: the two paths report from different threads.
 */
public class CallDeduplicator(
    private val windowMillis: Long = DEFAULT_WINDOW_MILLIS,
    private val minMatchDigits: Int = DEFAULT_MIN_MATCH_DIGITS,
) {
    private val seen = ArrayDeque<Pair<String, Long>>()

    /**
     * Returns `true` when [call] is the first sighting of its call within the
     * window, and remembers it; `false` for a repeat.
     */
    @Synchronized
    public fun isFirstSighting(call: ObservedCall): Boolean {
        val key = matchKey(call.number)
        val at = call.observedAtMillis
        // Forget sightings far older than anything that could still repeat.
        while (seen.isNotEmpty() && seen.first().second < at - 2 * windowMillis) {
            seen.removeFirst()
        }
        if (seen.any { (k, t) -> k == key && abs(t - at) <= windowMillis }) return false
        seen.addLast(key to at)
        return true
    }

    private fun matchKey(number: String): String {
        val digits = number.filter { it in '0'..'9' }
        // No digits (withheld, "Unknown"): compare the raw marker instead.
        if (digits.isEmpty()) return "raw:" + number.trim()
        return digits.takeLast(minMatchDigits)
    }

    public companion object {
        /** A missed call rings for seconds; its log row carries its start time. */
        public const val DEFAULT_WINDOW_MILLIS: Long = 60_000

        /** Android's default `config_phonenumber_compare_min_match`. */
        public const val DEFAULT_MIN_MATCH_DIGITS: Int = 7
    }
}
