package dev.motp.android

import dev.motp.sdk.CallMatch
import dev.motp.sdk.CallerIdMatch
import dev.motp.sdk.CallerPattern
import dev.motp.sdk.IgnoredCall
import dev.motp.sdk.ManualEntryReason
import dev.motp.sdk.MissedCallMatcher
import dev.motp.sdk.MotpException
import dev.motp.sdk.VerificationInfo
import dev.motp.sdk.VerificationInterface
import dev.motp.sdk.VerificationListener
import dev.motp.sdk.VerificationState
import kotlinx.coroutines.CompletableDeferred
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The mOTP server, faked on the host, behind UniFFI's generated
 * `VerificationInterface` (the seam UniFFI generates for test doubles).
 *
 * Only the server is fake: whether a number is the verification call is
 * decided by the real Rust matcher (`MissedCallMatcher` from
 * libmotp_ffi.so, through JNA), the way the core decides on a phone.
 */
class FakeServer(
    val pattern: CallerPattern = CallerPattern("+442079460", 3u),
    private val code: String = "123",
    private val homeCountry: String = "GB",
) {
    /** Completed by a test to hold the server's answer back. */
    var answer: CompletableDeferred<Unit>? = null

    val verifications = CopyOnWriteArrayList<FakeVerification>()

    data class Call(val number: String, val observedAt: Instant, val simSlot: UInt?)

    val calls: List<Call> get() = verifications.flatMap { it.calls }

    internal val starter = VerificationStarter { phoneNumber, listener ->
        answer?.await()
        FakeVerification(phoneNumber, listener).also { verifications += it }
    }

    inner class FakeVerification(
        private val phoneNumber: String,
        private val listener: VerificationListener,
    ) : VerificationInterface, AutoCloseable {
        val calls = CopyOnWriteArrayList<Call>()

        @Volatile
        var canceled = false

        @Volatile
        var closed = false

        @Volatile
        private var state: VerificationState = VerificationState.Requesting
        private val matcher = MissedCallMatcher(pattern, homeCountry)
        private val token = "tok_" + phoneNumber.filter(Char::isDigit)

        init {
            moveTo(VerificationState.Requesting)
            moveTo(VerificationState.AwaitingCall)
        }

        @Synchronized
        private fun moveTo(next: VerificationState) {
            if (state.isFinal()) return
            state = next
            listener.onStateChanged(next)
        }

        override fun caller(): CallerPattern = pattern

        override fun id(): String = "ver_1"

        override fun info(): VerificationInfo = VerificationInfo(
            id(), phoneNumber, pattern, Instant.now().plusSeconds(300), Instant.now().plusSeconds(30), 3u,
        )

        override fun state(): VerificationState = state

        override suspend fun nextState(): VerificationState = state

        val switchesToManualEntry = java.util.concurrent.atomic.AtomicInteger()

        override fun switchToManualEntry(reason: ManualEntryReason) {
            switchesToManualEntry.incrementAndGet()
            if (state == VerificationState.AwaitingCall) moveTo(VerificationState.ManualEntry(reason))
        }

        override suspend fun onIncomingCall(number: String, observedAt: Instant, simSlot: UInt?): CallMatch {
            calls += Call(number, observedAt, simSlot)
            if (state.isFinal() || state == VerificationState.Verifying) {
                return CallMatch.Ignored(IgnoredCall.NotAwaitingCall)
            }
            return when (val match = matcher.matchNumber(number)) {
                is CallerIdMatch.Rejected -> CallMatch.Ignored(IgnoredCall.NotMatching(match.reason))
                is CallerIdMatch.Code -> {
                    moveTo(VerificationState.Verifying)
                    if (match.code == code) {
                        moveTo(VerificationState.Verified(token))
                        CallMatch.Verified(token)
                    } else {
                        moveTo(VerificationState.AwaitingCall)
                        throw MotpException.WrongCode(2u)
                    }
                }
            }
        }

        override suspend fun submitCode(code: String): String {
            if (code != this@FakeServer.code) throw MotpException.WrongCode(2u)
            moveTo(VerificationState.Verifying)
            moveTo(VerificationState.Verified(token))
            return token
        }

        /** A new call is on its way: the verification awaits it again. */
        override suspend fun resend() {
            moveTo(VerificationState.AwaitingCall)
        }

        override suspend fun cancel() {
            canceled = true
            moveTo(VerificationState.Canceled)
        }

        /** The generated class frees its native object here; the fake records it. */
        override fun close() {
            closed = true
            matcher.close()
        }
    }
}
