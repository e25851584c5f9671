package dev.motp.sdk

import dev.motp.core.CallVisibility
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class LoggingTest {
    private val lines = CopyOnWriteArrayList<Triple<LogLevel, String, String>>()
    private val logger = object : MotpLogger {
        override fun log(level: LogLevel, target: String, message: String) {
            lines += Triple(level, target, message)
        }
    }

    @AfterEach
    fun removeLogger() = setLogger(null, LogLevel.WARN)

    @Test
    fun `the app's logger hears the SDK, and no line holds the number or the code`() = runTest {
        setLogger(logger, LogLevel.TRACE)
        val server = TestServer.main
        val phoneNumber = freshPhoneNumber()
        val verification = server.client().startVerification(phoneNumber, CallVisibility.NUMBERS)
        val caller = server.lastCaller(verification.id())
        verification.onIncomingCall(caller, Instant.now())

        assertTrue(lines.any { it.second.startsWith("motp") }, "no SDK line in $lines")
        for ((_, _, message) in lines) {
            assertFalse(phoneNumber.drop(1) in message.filter(Char::isDigit), "number in: $message")
            assertFalse(caller.drop(1) in message.filter(Char::isDigit), "caller in: $message")
        }
    }

    @Test
    fun `the level filters lines`() = runTest {
        setLogger(logger, LogLevel.ERROR)
        val verification = TestServer.main.client().startVerification(freshPhoneNumber(), CallVisibility.NUMBERS)
        verification.cancel()
        assertTrue(lines.all { it.first == LogLevel.ERROR }, "$lines")
    }
}
