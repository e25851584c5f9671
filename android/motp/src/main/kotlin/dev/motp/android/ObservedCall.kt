package dev.motp.android

/**
 * One sighting of an incoming call by one of the detection paths, on
 * any SIM.
 *
 * The shell does not judge the number, nor whether it saw that call
 * before: every sighting goes to the core (`Verification.onIncomingCall`),
 * which matches it against the caller pattern and decides which sighting
 * of a call counts.
 *
 * @property number the caller ID exactly as the platform presented it
 *   (national or international form, possibly empty or a marker such as
 *   `-2` for a withheld number).
 * @property observedAtMillis wall-clock time of the call, milliseconds since
 *   the epoch: when the ringing was reported, or the call log's `date`.
 * @property source which detection path saw it.
 */
public data class ObservedCall(
    val number: String,
    val observedAtMillis: Long,
    val source: Source,
) {
    /** The detection path that produced a sighting. */
    public enum class Source {
        /** The phone-state broadcast while the phone was ringing. */
        RINGING,

        /** A row of the system call log (incoming, missed, rejected or blocked). */
        CALL_LOG,

        /** The number handed to [MotpCallScreeningService] (call-screening role, API 29+). */
        SCREENING,
    }

    override fun toString(): String =
        // Never log a full caller number: its last digits are the code.
        "ObservedCall(number=${maskNumber(number)}, observedAtMillis=$observedAtMillis, source=$source)"
}

/**
 * `+4420…`: the country and area, never the tail, which holds the code
 * (up to half the number, and at most five characters, are kept).
 */
internal fun maskNumber(number: String): String = number.take(minOf(5, number.length / 2)) + "…"
