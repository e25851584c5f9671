package dev.motp.android

import dev.motp.core.CallEvent
import dev.motp.core.CallMatch
import dev.motp.core.CallVisibility
import dev.motp.core.CallerIdMatch
import dev.motp.core.CallerInfo
import dev.motp.core.IgnoredCall
import dev.motp.core.ManualEntryReason
import dev.motp.core.MotpException
import dev.motp.core.VerificationInfo
import dev.motp.core.VerificationListener
import dev.motp.core.VerificationState
import dev.motp.sdk.MissedCallMatcher
import dev.motp.sdk.VerificationInterface
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The mOTP server, faked on the host, behind UniFFI's generated
 * `VerificationInterface` (the seam UniFFI generates for test doubles).
 *
 * Whether a number is the verification call is decided by the real Rust
 * matcher (`MissedCallMatcher` from libmotp_ffi.so, through JNA); the
 * rest of the core (which sighting counts, retries, deadlines) is not
 * here: [RealCoreTest] runs the real one. This fake records every sighting
 * the shell hands over, checks each matching one, and follows the
 * visibility it is given the way the core does (manual entry without
 * numbers, after a resend too).
 */
class FakeServer(
    val pattern: CallerInfo = CallerInfo("+442079460", 3u),
    private val code: String = "123",
    private val homeCountry: String = "GB",
) {
    /** Completed by a test to hold the server's answer back. */
    var answer: CompletableDeferred<Unit>? = null

    val verifications = CopyOnWriteArrayList<FakeVerification>()

    data class Call(val number: String, val observedAt: Instant)

    val calls: List<Call> get() = verifications.flatMap { it.calls }

    internal val starter = VerificationStarter { phoneNumber, visibility, listener ->
        answer?.await()
        FakeVerification(phoneNumber, visibility, listener).also {
            verifications += it
            it.begin()
        }
    }

    /** Ids of the verifications a new process resumed (the `GET` the core would send). */
    val resumed = CopyOnWriteArrayList<String>()

    /**
     * What `MotpClient.resumeVerification` would do if the core had it: fetch
     * the verification by id and wait for its call again (the server still
     * runs it); sightings are then counted from the saved start.
     */
    internal val resumer = VerificationResumer { saved, visibility, listener ->
        answer?.await()
        resumed += saved.id
        FakeVerification(saved.phoneNumber, visibility, listener, id = saved.id).also {
            verifications += it
            it.begin()
        }
    }

    inner class FakeVerification(
        private val phoneNumber: String,
        /** What the shell said, at the start, it can see of calls. */
        @Volatile var visibility: CallVisibility,
        private val listener: VerificationListener,
        private val id: String = "ver_1",
    ) : VerificationInterface, AutoCloseable {
        val calls = CopyOnWriteArrayList<Call>()
        private val events = Channel<CallEvent>(Channel.UNLIMITED)

        /** The server reports something about the call (the core's `CallEvent`). */
        fun tell(event: CallEvent) {
            events.trySend(event)
            if (event is CallEvent.Failed) moveTo(VerificationState.ManualEntry(ManualEntryReason.CALL_TIMEOUT))
        }

        @Volatile
        var canceled = false

        @Volatile
        var closed = false

        @Volatile
        private var state: VerificationState = VerificationState.Requesting
        private val matcher = MissedCallMatcher(pattern, homeCountry)
        private val token = "tok_" + phoneNumber.filter(Char::isDigit)

        /** The server answered: the call is on its way. */
        fun begin() {
            moveTo(VerificationState.Requesting)
            moveTo(waiting())
        }

        /** Where the core waits, given what the phone can see of calls. */
        private fun waiting(): VerificationState = when (visibility) {
            CallVisibility.NUMBERS -> VerificationState.AwaitingCall
            CallVisibility.PERMISSION_MISSING -> VerificationState.ManualEntry(ManualEntryReason.PERMISSION_MISSING)
            CallVisibility.HIDDEN -> VerificationState.ManualEntry(ManualEntryReason.CALLS_UNREADABLE)
        }

        @Synchronized
        private fun moveTo(next: VerificationState) {
            if (state.isFinal()) return
            state = next
            listener.onStateChanged(next)
            if (next.isFinal()) events.close()
        }

        override fun caller(): CallerInfo = pattern

        override fun id(): String = id

        override suspend fun nextCallEvent(): CallEvent? = events.receiveCatching().getOrNull()

        override fun info(): VerificationInfo = VerificationInfo(
            id(), phoneNumber, pattern, Instant.now().plusSeconds(300), Instant.now().plusSeconds(30), 3u,
        )

        override fun state(): VerificationState = state

        override suspend fun nextState(): VerificationState = state

        override fun setCallVisibility(visibility: CallVisibility) {
            this.visibility = visibility
            if (state == VerificationState.AwaitingCall || state is VerificationState.ManualEntry) moveTo(waiting())
        }

        /** One check at a time, as the core runs them. */
        private val checking = Mutex()

        override suspend fun onIncomingCall(number: String, observedAt: Instant): CallMatch = checking.withLock {
            check(number, observedAt)
        }

        private fun check(number: String, observedAt: Instant): CallMatch {
            calls += Call(number, observedAt)
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
                        moveTo(waiting())
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

        /** A new call is on its way: the verification awaits it again, if this phone can see it. */
        override suspend fun resend() {
            moveTo(waiting())
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
