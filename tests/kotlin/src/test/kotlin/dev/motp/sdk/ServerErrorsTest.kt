package dev.motp.sdk

import dev.motp.core.CallVisibility
import dev.motp.core.MotpConfig
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import java.time.Duration
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * Every failure reaches Kotlin as the `MotpException` subclass an app can
 * act on: from the real server where it gives the answer on demand, from a
 * scripted one otherwise, and from the network itself.
 */
class ServerErrorsTest {
    private val server = TestServer.main

    @Test
    fun `a malformed phone number is InvalidPhoneNumber`() = runTest {
        assertFailsWith<MotpException.InvalidPhoneNumber> {
            server.client().startVerification("+44 12", CallVisibility.NUMBERS)
        }
    }

    @Test
    fun `an unknown key is Unauthorized`() = runTest {
        assertFailsWith<MotpException.Unauthorized> {
            server.client(key = "pk_unknown0000000000000000000000").startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        }
    }

    @Test
    fun `a country outside the allow-list is DestinationNotAllowed`() = runTest {
        assertFailsWith<MotpException.DestinationNotAllowed> {
            server.client().startVerification("+33 6 12 34 56 78", CallVisibility.NUMBERS)
        }
    }

    @Test
    fun `too many calls to one number is RateLimited with a wait`() = runTest {
        val client = server.client()
        val number = freshPhoneNumber()
        val error = assertFailsWith<MotpException.RateLimited> {
            repeat(10) { client.startVerification(number, CallVisibility.NUMBERS).cancel() }
        }
        assertTrue(error.retryAfterSecs > 0u, "retry after ${error.retryAfterSecs}")
    }

    @Test
    fun `configuration mistakes are InvalidInput`() {
        assertFailsWith<MotpException.InvalidInput> { server.client(homeCountry = "XX") }
        assertFailsWith<MotpException.InvalidInput> {
            MotpClient(config("not a url", server.publishableKey))
        }
        assertFailsWith<MotpException.InvalidInput> {
            MotpClient(config(server.url, server.publishableKey, callTimeout = Duration.ZERO))
        }
    }

    @Test
    fun `nothing listening is Network`() = runTest {
        assertFailsWith<MotpException.Network> {
            MotpClient(config(closedPortUrl(), "pk_test")).startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        }
    }

    @Test
    fun `a server that never answers is Timeout`() = runTest {
        SilentServer().use { silent ->
            val client = MotpClient(
                MotpConfig(silent.url, "pk_test", "GB", requestTimeout = Duration.ofMillis(300)),
            )
            assertFailsWith<MotpException.Timeout> { client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS) }
        }
    }

    @Test
    fun `a 5xx is Server with the status`() = runTest {
        FakeServer { _, _ -> FakeServer.problem(500, "internal") }.use { fake ->
            val error = assertFailsWith<MotpException.Server> {
                MotpClient(config(fake.url, "pk_test")).startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
            }
            assertEquals(500.toUShort(), error.status)
        }
    }

    @Test
    fun `an answer that is not the protocol is InvalidResponse`() = runTest {
        FakeServer { _, _ -> FakeServer.Answer(201, """{"hello": "world"}""") }.use { fake ->
            assertFailsWith<MotpException.InvalidResponse> {
                MotpClient(config(fake.url, "pk_test")).startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
            }
        }
    }

    @Test
    fun `a call the network could not deliver fails the verification with CallFailed`() = runTest {
        FakeServer { _, _ -> FakeServer.verification("failed", failureReason = "busy") }.use { fake ->
            val client = MotpClient(config(fake.url, "pk_test"))
            val state = try {
                client.startVerification(freshPhoneNumber(), CallVisibility.NUMBERS).state()
            } catch (e: MotpException.CallFailed) {
                VerificationState.Failed(e)
            }
            val error = assertIs<VerificationState.Failed>(state).error
            assertEquals("busy", assertIs<MotpException.CallFailed>(error).reason)
        }
    }

    @Test
    fun `a check on a verification the server no longer knows is NotFound`() = runTest {
        checkAnswered(FakeServer.problem(404, "not-found")) { verification ->
            assertFailsWith<MotpException.NotFound> { verification.submitCode("1234") }
        }
    }

    @Test
    fun `a check on a verification approved elsewhere is AlreadyUsed`() = runTest {
        checkAnswered(FakeServer.problem(409, "already-used")) { verification ->
            assertFailsWith<MotpException.AlreadyUsed> { verification.submitCode("1234") }
        }
    }

    /** A verification created by a fake server whose check answers [check]. */
    private suspend fun checkAnswered(check: FakeServer.Answer, block: suspend (Verification) -> Unit) {
        FakeServer { method, path ->
            when {
                method == "POST" && path.endsWith("/check") -> check
                method == "DELETE" -> FakeServer.Answer(204, "")
                else -> FakeServer.verification()
            }
        }.use { fake ->
            block(MotpClient(config(fake.url, "pk_test")).startVerification(freshPhoneNumber(), CallVisibility.NUMBERS))
        }
    }
}
