package dev.motp.sdk

import dev.motp.core.CallMatch
import dev.motp.core.CallVisibility
import dev.motp.core.CallerInfo
import dev.motp.core.IgnoredCall
import dev.motp.core.ManualEntryReason
import dev.motp.core.MatchRejection
import dev.motp.core.MotpException
import dev.motp.core.VerificationListener
import dev.motp.core.VerificationState
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import java.time.Duration
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue

/** Whole verifications against the real server, through the real library. */
class VerificationFlowTest {
    private val server = TestServer.main
    private val client = server.client()

    @Test
    fun `zero typing - the incoming number verifies and the listener hears every step in order`() = runTest {
        val recorder = StateRecorder()
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)
        assertEquals(VerificationState.AwaitingCall, verification.state())
        assertEquals(CallerInfo("+44207946", 4u), verification.caller())

        val caller = server.lastCaller(verification.id())
        val outcome = verification.onIncomingCall(caller, Instant.now())

        val token = assertIs<CallMatch.Verified>(outcome).token
        assertEquals(VerificationState.Verified(token), verification.state())
        assertEquals(VerificationState.Verified(token), recorder.awaitFinal())
        assertEquals(
            listOf("Requesting", "AwaitingCall", "Verifying", "Verified"),
            names(recorder.states),
        )
    }

    @Test
    fun `a national-format caller ID, as the phone shows it, verifies too`() = runTest {
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        val caller = server.lastCaller(verification.id()) // +44207946dddd
        val national = "020 7946 " + caller.takeLast(4)

        val outcome = verification.onIncomingCall(national, Instant.now())

        assertIs<CallMatch.Verified>(outcome)
    }

    @Test
    fun `manual entry - a phone that cannot see calls is asked for the code at once, and the typed code verifies`() = runTest {
        val recorder = StateRecorder()
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.HIDDEN, recorder)
        assertEquals(VerificationState.ManualEntry(ManualEntryReason.CALLS_UNREADABLE), verification.state())
        val caller = server.lastCaller(verification.id())

        val token = verification.submitCode(codeOf(caller, verification.caller().codeLength))

        assertTrue(token.isNotEmpty())
        assertEquals(VerificationState.Verified(token), recorder.awaitFinal())
        assertEquals(
            listOf("Requesting", "ManualEntry", "Verifying", "Verified"),
            names(recorder.states),
        )
        assertEquals(
            VerificationState.ManualEntry(ManualEntryReason.CALLS_UNREADABLE),
            recorder.states[1],
        )
    }

    @Test
    fun `a wrong code throws WrongCode with the attempts left, and the right one still works`() = runTest {
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        val code = codeOf(server.lastCaller(verification.id()), 4u)
        val wrong = ((code.toInt() + 1) % 10_000).toString().padStart(4, '0')

        val error = assertFailsWith<MotpException.WrongCode> { verification.submitCode(wrong) }

        assertEquals(2u, error.attemptsLeft)
        assertEquals(2u, verification.info().attemptsLeft)
        assertIs<VerificationState.AwaitingCall>(verification.state())
        assertTrue(verification.submitCode(code).isNotEmpty())
    }

    @Test
    fun `spending every attempt expires the verification`() = runTest {
        val recorder = StateRecorder()
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)
        val code = codeOf(server.lastCaller(verification.id()), 4u)
        val wrong = (1..3).map { ((code.toInt() + it) % 10_000).toString().padStart(4, '0') }

        assertFailsWith<MotpException.WrongCode> { verification.submitCode(wrong[0]) }
        // The same wrong code again is refused locally and spends nothing.
        val again = assertFailsWith<MotpException.WrongCode> { verification.submitCode(wrong[0]) }
        assertEquals(2u, again.attemptsLeft)
        assertFailsWith<MotpException.WrongCode> { verification.submitCode(wrong[1]) }
        assertFailsWith<MotpException.Expired> { verification.submitCode(wrong[2]) }

        assertEquals(VerificationState.Expired, recorder.awaitFinal())
        assertFailsWith<MotpException.Expired> { verification.submitCode(code) }
    }

    @Test
    fun `a typed code that is not digits of the right length is refused before any request`() = runTest {
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)

        assertFailsWith<MotpException.InvalidInput> { verification.submitCode("12ab") }
        assertFailsWith<MotpException.InvalidInput> { verification.submitCode("123") }
        assertEquals(3u, verification.info().attemptsLeft)
    }

    @Test
    fun `other calls are ignored with the reason and change nothing`() = runTest {
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)

        val foreign = verification.onIncomingCall("+33 1 23 45 67 89", Instant.now())
        val withheld = verification.onIncomingCall("-2", Instant.now())
        val early = verification.onIncomingCall(
            server.lastCaller(verification.id()),
            Instant.now().minus(Duration.ofHours(1)),
        )

        assertEquals(CallMatch.Ignored(IgnoredCall.NotMatching(MatchRejection.WRONG_COUNTRY)), foreign)
        assertEquals(CallMatch.Ignored(IgnoredCall.NotMatching(MatchRejection.WITHHELD)), withheld)
        assertEquals(CallMatch.Ignored(IgnoredCall.BeforeRequest), early)
        assertEquals(VerificationState.AwaitingCall, verification.state())
        assertEquals(3u, verification.info().attemptsLeft)
    }

    @Test
    fun `cancel ends the verification at once and later calls are refused`() = runTest {
        val recorder = StateRecorder()
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)
        val caller = server.lastCaller(verification.id())

        verification.cancel()

        assertEquals(VerificationState.Canceled, verification.state())
        assertEquals(VerificationState.Canceled, recorder.awaitFinal())
        assertEquals(
            CallMatch.Ignored(IgnoredCall.NotAwaitingCall),
            verification.onIncomingCall(caller, Instant.now()),
        )
        assertFailsWith<MotpException.Canceled> { verification.submitCode(codeOf(caller, 4u)) }
        verification.cancel() // no effect once ended
    }

    @Test
    fun `resend places a new call whose number verifies`() = runTest {
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        val first = server.lastCaller(verification.id(), sequence = 1)
        // resend_after is whole seconds: wait for it rather than be refused.
        val wait = Duration.between(Instant.now(), verification.info().resendAfter)
        if (!wait.isNegative) Thread.sleep(wait.toMillis() + 1)

        verification.resend()

        val second = server.lastCaller(verification.id(), sequence = 2)
        assertEquals(VerificationState.AwaitingCall, verification.state())
        val outcome = verification.onIncomingCall(second, Instant.now())
        assertIs<CallMatch.Verified>(outcome)
        if (first != second) {
            // The first call's code was replaced by the second's.
            assertNotEquals(codeOf(first, 4u), codeOf(second, 4u))
        }
    }

    @Test
    fun `nextState walks the same states as the listener, then repeats the final one`() = runTest {
        val recorder = StateRecorder()
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)
        val seen = mutableListOf(verification.state())
        val walker = launch {
            realTime {
                while (true) {
                    val state = verification.nextState()
                    seen += state
                    if (state.isFinal()) break
                }
            }
        }
        verification.onIncomingCall(server.lastCaller(verification.id()), Instant.now())
        walker.join()

        assertEquals(names(recorder.states).drop(1), names(seen))
        assertEquals(seen.last(), realTime { verification.nextState() })
    }

    @Test
    fun `canceling the coroutine that waits for a state stops the wait, not the verification`() = runTest {
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        val waiting = launch { realTime(30) { verification.nextState() } }
        realTime { waiting.cancel(); waiting.join() }
        assertTrue(waiting.isCancelled)

        val outcome = verification.onIncomingCall(server.lastCaller(verification.id()), Instant.now())
        assertIs<CallMatch.Verified>(outcome)
    }

    @Test
    fun `two verifications at once stay apart`() = runTest {
        val recorders = List(2) { StateRecorder() }
        val verifications = realTime {
            recorders.map { async { client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, it) } }.awaitAll()
        }
        val (a, b) = verifications
        assertNotEquals(a.id(), b.id())
        val callerA = server.lastCaller(a.id())
        val callerB = server.lastCaller(b.id())

        val outcomes = realTime {
            listOf(
                async { a.onIncomingCall(callerA, Instant.now()) },
                async { b.onIncomingCall(callerB, Instant.now()) },
            ).awaitAll()
        }

        val tokens = outcomes.map { assertIs<CallMatch.Verified>(it).token }
        assertNotEquals(tokens[0], tokens[1])
        recorders.forEach { assertIs<VerificationState.Verified>(it.awaitFinal()) }
        assertEquals(names(recorders[0].states), names(recorders[1].states))
    }

    @Test
    fun `a listener that throws does not break the verification`() = runTest {
        val heard = java.util.concurrent.CopyOnWriteArrayList<VerificationState>()
        val throwing = object : VerificationListener {
            override fun onStateChanged(state: VerificationState) {
                heard += state
                throw IllegalStateException("the app's listener failed")
            }
        }
        val verification = client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, throwing)

        val outcome = verification.onIncomingCall(server.lastCaller(verification.id()), Instant.now())

        assertIs<CallMatch.Verified>(outcome)
        assertEquals(listOf("Requesting", "AwaitingCall", "Verifying", "Verified"), names(heard))
    }
}
