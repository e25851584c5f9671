package dev.motp.sdk

import dev.motp.core.VerificationListener
import dev.motp.core.VerificationState
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.util.concurrent.CopyOnWriteArrayList

/** A [VerificationListener] that keeps every state it hears, in order. */
class StateRecorder : VerificationListener {
    val states = CopyOnWriteArrayList<VerificationState>()
    private val arrivals = Channel<VerificationState>(Channel.UNLIMITED)

    override fun onStateChanged(state: VerificationState) {
        states += state
        arrivals.trySend(state)
    }

    /** Waits (in real time) until a final state has been heard, and returns it. */
    suspend fun awaitFinal(seconds: Long = 10): VerificationState = awaitState(seconds) { it.isFinal() }

    /** Waits (in real time) for the next state heard that satisfies [predicate], and returns it. */
    suspend fun awaitState(seconds: Long = 10, predicate: (VerificationState) -> Boolean): VerificationState =
        realTime(seconds) {
            var state = arrivals.receive()
            while (!predicate(state)) state = arrivals.receive()
            state
        }
}

/**
 * Runs [block] on a real dispatcher with a real-time timeout. Inside
 * `runTest` time is virtual, and a `withTimeout` there would fire as soon as
 * the test waits on something the Rust side completes.
 */
suspend fun <T> realTime(seconds: Long = 10, block: suspend () -> T): T =
    withContext(Dispatchers.Default) { withTimeout(seconds * 1000) { block() } }

/** The digits a user would read off the call list: the last [codeLength] of [caller]. */
fun codeOf(caller: String, codeLength: UInt): String = caller.takeLast(codeLength.toInt())

/** [codeOf] for `caller().codeLength`. */
fun codeOf(caller: String, codeLength: UByte): String = codeOf(caller, codeLength.toUInt())

/** The names of [states], for readable assertions. */
fun names(states: List<VerificationState>): List<String> = states.map { it::class.simpleName!! }
