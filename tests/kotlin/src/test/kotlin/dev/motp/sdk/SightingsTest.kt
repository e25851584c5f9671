package dev.motp.sdk

import dev.motp.core.CallMatch
import dev.motp.core.CallVisibility
import dev.motp.core.IgnoredCall
import dev.motp.core.ManualEntryReason
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import java.time.Instant
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs

/**
 * The core decides which sighting of a call counts: the app reports every
 * one (ringing, call log, twice the same call) and what it can see of calls.
 */
class SightingsTest {
    private val server = TestServer.main

    @Test
    fun `a check lost in transit is checked again when the same call is seen again`() = runTest {
        val checks = AtomicInteger()
        FakeServer { method, path ->
            when {
                method == "POST" && path.endsWith("/check") ->
                    if (checks.getAndIncrement() == 0) {
                        FakeServer.DROP
                    } else {
                        FakeServer.Answer(200, """{"status": "approved", "token": "tok"}""")
                    }
                method == "DELETE" -> FakeServer.Answer(204, "")
                else -> FakeServer.verification()
            }
        }.use { fake ->
            val recorder = StateRecorder()
            val verification = MotpClient(config(fake.url, "pk_test"))
                .startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)

            // The ringing broadcast: its check never gets an answer.
            assertFailsWith<MotpException.Network> { verification.onIncomingCall("020 7946 0123", Instant.now()) }
            assertEquals(VerificationState.AwaitingCall, verification.state())
            // The call-log row of the same call, in another form: checked at once.
            val outcome = verification.onIncomingCall("+442079460123", Instant.now())

            assertEquals(CallMatch.Verified("tok"), outcome)
            assertEquals(VerificationState.Verified("tok"), recorder.awaitFinal())
            val callerIds = fake.requests.filter { it.path.endsWith("/check") }
                .map { jsonString(it.body, "caller_id") }
            assertEquals(listOf("020 7946 0123", "+442079460123"), callerIds)
        }
    }

    @Test
    fun `a call the server refused is not checked again when seen again`() = runTest {
        val verification = server.client().startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        val caller = server.lastCaller(verification.id()) // +44207946dddd
        val code = caller.takeLast(4)
        val wrong = ((code.toInt() + 1) % 10_000).toString().padStart(4, '0')

        val error = assertFailsWith<MotpException.WrongCode> {
            verification.onIncomingCall("+44207946$wrong", Instant.now())
        }
        assertEquals(2u, error.attemptsLeft)
        // The same call again, from the call log and in national form.
        val again = verification.onIncomingCall("020 7946 $wrong", Instant.now())

        assertEquals(CallMatch.Ignored(IgnoredCall.AlreadyRejected), again)
        assertEquals(2u, verification.info().attemptsLeft)
        assertIs<CallMatch.Verified>(verification.onIncomingCall(caller, Instant.now()))
    }

    @Test
    fun `the core follows what the phone can see of calls`() = runTest {
        val recorder = StateRecorder()
        val verification = server.client().startVerification(freshPhoneNumber(), CallVisibility.NUMBERS, recorder)
        assertEquals(VerificationState.AwaitingCall, verification.state())
        val manual = VerificationState.ManualEntry(ManualEntryReason.PERMISSION_MISSING)

        // The permission is revoked while the verification waits, then granted again.
        verification.setCallVisibility(CallVisibility.PERMISSION_MISSING)
        assertEquals(manual, recorder.awaitState { it is VerificationState.ManualEntry })
        verification.setCallVisibility(CallVisibility.NUMBERS)
        recorder.awaitState { it == VerificationState.AwaitingCall }

        assertIs<CallMatch.Verified>(verification.onIncomingCall(server.lastCaller(verification.id()), Instant.now()))
        assertEquals(
            listOf("Requesting", "AwaitingCall", "ManualEntry", "AwaitingCall", "Verifying", "Verified"),
            names(recorder.states),
        )
    }
}
