package dev.motp.sdk

import dev.motp.core.CallerIdMatch
import dev.motp.core.CallerInfo
import dev.motp.core.MatchRejection
import dev.motp.core.MotpException
import org.junit.jupiter.api.Test
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull

/** Bring your own backend: no server, the pattern in, the code out. */
class MatcherTest {
    private val pattern = CallerInfo("+44 20 7946 0", 3u)

    @Test
    fun `every presentation of the number yields the code, leading zeros kept`() {
        val matcher = MissedCallMatcher(pattern, "GB")
        assertEquals(CallerInfo("+442079460", 3u), matcher.pattern())
        for (number in listOf("+44 20 7946 0123", "020 7946 0123", "0044 20 7946 0123", "442079460123")) {
            assertEquals(CallerIdMatch.Code("123"), matcher.matchNumber(number), number)
        }
        assertEquals(CallerIdMatch.Code("007"), matcher.matchNumber("+442079460007"))
    }

    @Test
    fun `other calls are rejected with the reason`() {
        val matcher = MissedCallMatcher(pattern, "GB")
        assertEquals(CallerIdMatch.Rejected(MatchRejection.WITHHELD), matcher.matchNumber("Private"))
        assertEquals(CallerIdMatch.Rejected(MatchRejection.WRONG_COUNTRY), matcher.matchNumber("+33 1 23 45 67 89"))
        assertEquals(CallerIdMatch.Rejected(MatchRejection.WRONG_PREFIX), matcher.matchNumber("+44 20 7946 1123"))
        assertEquals(CallerIdMatch.Rejected(MatchRejection.INVALID_CHARACTERS), matcher.matchNumber("call me"))
        assertEquals(CallerIdMatch.Rejected(MatchRejection.EMPTY), matcher.matchNumber(""))
        assertEquals(CallerIdMatch.Rejected(MatchRejection.TOO_LONG), matcher.matchNumber("1".repeat(10_000)))
    }

    @Test
    fun `a malformed pattern or an unknown country is InvalidInput`() {
        assertFailsWith<MotpException.InvalidInput> { MissedCallMatcher(CallerInfo("442079460", 3u), "GB") }
        assertFailsWith<MotpException.InvalidInput> { MissedCallMatcher(CallerInfo("+442079460", 0u), "GB") }
        assertFailsWith<MotpException.InvalidInput> { MissedCallMatcher(CallerInfo("+442079460", 255u), "GB") }
        assertFailsWith<MotpException.InvalidInput> { MissedCallMatcher(pattern, "ZZ") }
    }

    @Test
    fun `an offline verification only counts calls inside its window`() {
        val start = Instant.now()
        val offline = OfflineVerification(pattern, "GB", start.plusSeconds(60), start)

        assertEquals("123", offline.onIncomingCall("020 7946 0123", start.plusSeconds(5)))
        assertNull(offline.onIncomingCall("020 7946 0123", start.minusSeconds(5)))
        assertNull(offline.onIncomingCall("020 7946 0123", start.plusSeconds(60)))
        assertNull(offline.onIncomingCall("+33 1 23 45 67 89", start.plusSeconds(5)))
        assertFailsWith<MotpException.InvalidInput> { OfflineVerification(pattern, "GB", start, start) }
        // started_at defaults to now.
        assertEquals("123", OfflineVerification(pattern, "GB", start.plusSeconds(60)).onIncomingCall("+442079460123", Instant.now()))
    }
}
