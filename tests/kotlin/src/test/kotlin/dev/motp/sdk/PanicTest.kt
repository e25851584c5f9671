package dev.motp.sdk

import dev.motp.core.CallerIdMatch
import dev.motp.core.CallerInfo
import dev.motp.core.MotpException
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/**
 * A Rust panic must reach the app as an exception it can catch, never
 * abort the process. `debugForcePanic*` exist only in libraries built with
 * the `testing` feature.
 */
class PanicTest {
    @Test
    fun `a panic in a synchronous call is an InternalException`() {
        val error = assertFailsWith<InternalException> { debugForcePanic() }
        assertContains(error.message.orEmpty(), "deliberate panic")
        // The library still works afterwards.
        assertEquals(CallerIdMatch.Code("123"), MissedCallMatcher(CallerInfo("+442079460", 3u), "GB").matchNumber("+442079460123"))
    }

    @Test
    fun `a panic in an SDK task is MotpException Internal`() = runTest {
        repeat(3) {
            val error = assertFailsWith<MotpException.Internal> { debugForcePanicAsync() }
            assertContains(error.reason, "deliberate panic")
        }
    }
}
