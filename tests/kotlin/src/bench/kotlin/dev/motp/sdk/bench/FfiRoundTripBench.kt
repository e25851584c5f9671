package dev.motp.sdk.bench

import dev.motp.core.CallMatch
import dev.motp.core.CallVisibility
import dev.motp.core.CallerIdMatch
import dev.motp.core.CallerInfo
import dev.motp.core.MotpConfig
import dev.motp.sdk.MissedCallMatcher
import dev.motp.sdk.MotpClient
import kotlinx.coroutines.runBlocking
import java.lang.management.ManagementFactory
import java.time.Instant

/**
 * The cost of one FFI round trip of `Verification.onIncomingCall` from
 * Kotlin: a suspend call into Rust, a task on the SDK's runtime, the
 * matcher, and the result lifted back, for a number that is not the
 * verification call (so no HTTP request is made).
 *
 * Not a test: run by scripts/bench-ffi.sh, which starts a server (only
 * needed to create the verification) and passes `motp.server.url` and
 * `motp.publishable.key`. A plain warm-up + timed loop; reports mean and
 * percentiles over batches.
 */
fun main() {
    val url = System.getProperty("motp.server.url")
    val key = System.getProperty("motp.publishable.key")
    val iterations = System.getProperty("motp.bench.iterations", "200000").toInt()
    val warmup = iterations / 4
    val number = "+33 1 23 45 67 89"

    runBlocking {
        val client = MotpClient(MotpConfig(url, key, "GB"))
        val verification = client.startVerification("+447400123999", CallVisibility.NUMBERS)
        val now = Instant.now()
        check(verification.onIncomingCall(number, now) is CallMatch.Ignored)

        report("Verification.onIncomingCall (suspend)", iterations, warmup) {
            verification.onIncomingCall(number, now)
        }
        report("Verification.state (sync, no arguments)", iterations, warmup) {
            verification.state()
        }
        verification.cancel()
    }

    val matcher = MissedCallMatcher(CallerInfo("+442079460", 3u), "GB")
    check(matcher.matchNumber("020 7946 0123") == CallerIdMatch.Code("123"))
    runBlocking {
        report("MissedCallMatcher.matchNumber (sync, baseline)", iterations, warmup) {
            matcher.matchNumber("020 7946 0123")
        }
    }
}

private suspend fun report(name: String, iterations: Int, warmup: Int, call: suspend () -> Any) {
    repeat(warmup) { call() }
    val batch = 1_000
    val perCallNanos = DoubleArray(iterations / batch)
    val cpuStarted = processCpuNanos()
    val started = System.nanoTime()
    for (b in perCallNanos.indices) {
        val t0 = System.nanoTime()
        repeat(batch) { call() }
        perCallNanos[b] = (System.nanoTime() - t0).toDouble() / batch
    }
    val total = System.nanoTime() - started
    val cpu = processCpuNanos() - cpuStarted
    val calls = perCallNanos.size * batch
    perCallNanos.sort()
    fun pct(p: Double) = perCallNanos[((perCallNanos.size - 1) * p).toInt()] / 1000
    println(
        "%-48s %7.2f µs/call wall (batch p50 %.2f, p99 %.2f), %.2f µs/call CPU, %d calls".format(
            name, total / 1000.0 / calls, pct(0.5), pct(0.99), cpu / 1000.0 / calls, calls,
        ),
    )
}

/** CPU time of the whole process (every thread, Rust's included). */
private fun processCpuNanos(): Long =
    (ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean).processCpuTime
