package dev.motp.sdk

import dev.motp.core.CallEvent
import dev.motp.core.CallVisibility
import dev.motp.core.ManualEntryReason
import dev.motp.core.VerificationListener
import dev.motp.core.VerificationState
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import java.io.File
import java.io.IOException
import java.net.DatagramSocket
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.time.Duration
import java.time.Instant
import java.time.LocalDateTime
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertTrue
import kotlin.test.fail

/**
 * Issue 17, end to end: the phone is busy. The app (Kotlin, the real
 * libmotp_ffi.so) -> HTTP -> `motp serve` -> SIP over UDP -> SIPp, which
 * rings for a second or so and answers `486 Busy Here`. The server records the
 * call `failed: busy`, its event stream (`GET /v1/verifications/{id}/events`)
 * carries it, and the core following that stream moves the verification
 * from `AwaitingCall` to `ManualEntry` and hands the app
 * `CallEvent.Failed("busy")`, within 2 s of the 486 rather than after the
 * app's 30-second call timeout.
 *
 * The delay is measured from the moment SIPp sent the 486 (the timestamp
 * of that message in SIPp's `-trace_msg` file, microseconds, same host
 * clock) to the moment the Kotlin listener heard `ManualEntry` and the
 * moment `nextCallEvent()` returned `Failed` (`Instant.now()` in the JVM).
 * Beside it, the time from the server's record of `failed` (the first
 * `GET /v1/verifications/{id}` that says so, polled every 5 ms: a few ms
 * late, so that figure errs short) to the app's state change.
 *
 * This class starts its own SIPp and `motp serve` (the binary built beside
 * the library by scripts/test.d/30-kotlin.sh, `$work/motp`). Without
 * `sipp` on PATH it fails: 30-kotlin.sh installs Debian's sip-tester.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BusyCallTest {
    private lateinit var sipp: SippPhone
    private lateinit var server: ServeProcess

    @BeforeAll
    fun start() {
        sipp = SippPhone.start(scenario("ring-then-busy"), calls = RUNS)
        server = ServeProcess.start(sipp.port)
    }

    @AfterAll
    fun stop() {
        if (::server.isInitialized) server.close()
        if (::sipp.isInitialized) sipp.close()
    }

    /** What one verification of the busy phone saw, with the app's clock. */
    private class Run(
        val phoneNumber: String,
        val started: Instant,
        val manualEntryAt: Instant,
        val failedEventAt: Instant,
        val serverRecordedAt: Instant,
        val events: List<CallEvent>,
    )

    @Test
    fun `a busy phone - the app sees failed busy within 2 s of the 486`() = runBlocking(Dispatchers.Default) {
        val client = server.client(callTimeout = CALL_TIMEOUT)
        val runs = (1..RUNS).map { oneRun(client) }
        client.close()

        // SIPp has sent every 486 and received every ACK: its trace is complete.
        sipp.awaitExit()
        val sent = sipp.busySentAt()
        val rows = runs.map { run ->
            val busyAt = sent.entries.firstOrNull { run.phoneNumber.takeLast(10) in it.key }?.value
                ?: fail("no 486 to ${run.phoneNumber} in SIPp's trace:\n${sipp.explain()}")
            // A clock or time-zone mix-up would put the 486 outside the run.
            assertTrue(
                busyAt.isAfter(run.started) && busyAt.isBefore(run.manualEntryAt),
                "486 at $busyAt, outside the run ${run.started}..${run.manualEntryAt}: same clock?",
            )
            Triple(run, busyAt, Duration.between(busyAt, run.manualEntryAt))
        }
        val toState = rows.map { it.third.toMillis() }.sorted()
        val toEvent = rows.map { (run, busyAt) -> Duration.between(busyAt, run.failedEventAt).toMillis() }.sorted()
        val recordToState = runs.map { Duration.between(it.serverRecordedAt, it.manualEntryAt).toMillis() }.sorted()
        println(
            "busy (SIPp 486 -> app), $RUNS runs: ManualEntry median ${toState.median()} ms " +
                "(max ${toState.last()}), CallEvent.Failed median ${toEvent.median()} ms " +
                "(max ${toEvent.last()}); server record of failed (GET poll) -> ManualEntry " +
                "median ${recordToState.median()} ms (max ${recordToState.last()}); " +
                "486 -> ManualEntry each run: ${rows.map { it.third.toMillis() }} ms",
        )
        for ((run, busyAt, delay) in rows) {
            assertTrue(
                delay < Duration.ofSeconds(2),
                "${run.phoneNumber}: ManualEntry ${delay.toMillis()} ms after the 486 ($busyAt)",
            )
            val eventDelay = Duration.between(busyAt, run.failedEventAt)
            assertTrue(
                eventDelay < Duration.ofSeconds(2),
                "${run.phoneNumber}: CallEvent.Failed ${eventDelay.toMillis()} ms after the 486 ($busyAt)",
            )
        }
    }

    /** One verification: start, wait for ManualEntry and CallEvent.Failed, cancel. */
    private suspend fun oneRun(client: MotpClient): Run {
        val phoneNumber = freshPhoneNumber()
        val recorder = TimedStates()
        val started = Instant.now()
        val verification = client.startVerification(phoneNumber, CallVisibility.NUMBERS, recorder)
        // The 486 comes a second or more after the ring: the create
        // request has answered long before, and the app waits for the call.
        assertIs<VerificationState.AwaitingCall>(
            verification.state(),
            "state after startVerification (${server.explain()})",
        )
        val recorded = server.watchForFailed(verification.id())

        val events = CopyOnWriteArrayList<Pair<Instant, CallEvent>>()
        val failedEvent = kotlinx.coroutines.CompletableDeferred<Instant>()
        val collector = kotlinx.coroutines.CoroutineScope(Dispatchers.Default).launch {
            while (true) {
                val event = verification.nextCallEvent() ?: break
                val at = Instant.now()
                events += at to event
                if (event is CallEvent.Failed) failedEvent.complete(at)
            }
        }

        val (manualAt, manual) = try {
            withTimeout(10_000) { recorder.await { it is VerificationState.ManualEntry || it.isFinal() } }
        } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
            fail("no ManualEntry within 10 s; states ${recorder.names()}, events $events\n${sipp.explain()}\n${server.explain()}")
        }
        assertEquals(
            VerificationState.ManualEntry(ManualEntryReason.CALL_TIMEOUT),
            manual,
            "states ${recorder.names()}, events $events",
        )
        val failedAt = try {
            withTimeout(5_000) { failedEvent.await() }
        } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
            fail("no CallEvent.Failed within 5 s of ManualEntry; events $events")
        }
        val failed = events.map { it.second }.filterIsInstance<CallEvent.Failed>().single()
        assertTrue("busy" in failed.reason, "reason ${failed.reason}")
        val serverRecordedAt = recorded.await(5_000)

        // The user gives up on this number; the stream closes with the verification.
        verification.cancel()
        withTimeout(5_000) { collector.join() }
        verification.close()
        return Run(phoneNumber, started, manualAt, failedAt, serverRecordedAt, events.map { it.second })
    }

    /** Every state the listener heard, with the JVM's clock at that moment. */
    private class TimedStates : VerificationListener {
        private val heard = CopyOnWriteArrayList<Pair<Instant, VerificationState>>()
        private val arrivals = kotlinx.coroutines.channels.Channel<Pair<Instant, VerificationState>>(
            kotlinx.coroutines.channels.Channel.UNLIMITED,
        )

        override fun onStateChanged(state: VerificationState) {
            val entry = Instant.now() to state
            heard += entry
            arrivals.trySend(entry)
        }

        suspend fun await(predicate: (VerificationState) -> Boolean): Pair<Instant, VerificationState> {
            var entry = arrivals.receive()
            while (!predicate(entry.second)) entry = arrivals.receive()
            return entry
        }

        fun names(): List<String> = names(heard.map { it.second })
    }

    private companion object {
        /** Verifications of the busy phone, one SIPp call each. */
        const val RUNS = 7

        /** Far beyond the 2 s asked: a ManualEntry in time cannot be the timeout's. */
        val CALL_TIMEOUT: Duration = Duration.ofSeconds(30)

        fun scenario(name: String): File =
            File(
                BusyCallTest::class.java.getResource("/sipp/$name.xml")?.toURI()
                    ?: error("no scenario sipp/$name.xml on the test classpath"),
            )

        fun List<Long>.median(): Long = this[size / 2]
    }
}

/**
 * SIPp as the phone: a UAS on 127.0.0.1 running one scenario for [calls]
 * calls, with its message trace. Fails clearly when `sipp` is missing.
 */
class SippPhone private constructor(
    private val process: Process,
    val port: Int,
    private val dir: File,
) : AutoCloseable {
    companion object {
        fun start(scenario: File, calls: Int): SippPhone {
            val dir = Files.createTempDirectory("motp-sipp").toFile()
            val port = freeUdpPort()
            val command = listOf(
                "sipp", "-sf", scenario.path,
                "-i", "127.0.0.1", "-t", "u1", "-nostdin",
                "-m", calls.toString(),
                "-p", port.toString(),
                "-cp", freeUdpPort().toString(),
                "-mp", freeUdpPort().toString(),
                "-timeout", "120s", "-timeout_error",
                "-trace_msg", "-message_file", File(dir, "messages.txt").path,
                "-trace_err", "-error_file", File(dir, "errors.txt").path,
            )
            val process = try {
                ProcessBuilder(command)
                    .directory(dir)
                    .redirectOutput(File(dir, "screen.txt"))
                    .redirectError(File(dir, "stderr.txt"))
                    .start()
            } catch (e: IOException) {
                throw AssertionError(
                    "sipp is not on PATH ($e): BusyCallTest needs SIPp as the busy phone; " +
                        "apt-get install sip-tester (scripts/test.d/30-kotlin.sh does)",
                )
            }
            val phone = SippPhone(process, port, dir)
            phone.awaitListening()
            return phone
        }

        private fun freeUdpPort(): Int = DatagramSocket(0, InetAddress.getLoopbackAddress()).use { it.localPort }

        /** SIPp's trace header: `----…---- 2026-11-29 11:06:42.146818`, local time. */
        private val traceTime = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS")
    }

    /** SIPp is ready once its port is taken. */
    private fun awaitListening() {
        val deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos()
        while (true) {
            val free = try {
                DatagramSocket(InetSocketAddress(InetAddress.getLoopbackAddress(), port)).close()
                true
            } catch (e: IOException) {
                false
            }
            if (!free) return
            if (!process.isAlive) throw AssertionError("sipp exited early (${process.exitValue()}): ${explain()}")
            check(System.nanoTime() < deadline) { "sipp never bound port $port: ${explain()}" }
            Thread.sleep(10)
        }
    }

    /** Waits for SIPp to finish its calls; 0 means every scenario ran to its end. */
    fun awaitExit() {
        if (!process.waitFor(20, TimeUnit.SECONDS)) fail("sipp did not finish its calls: ${explain()}")
        assertEquals(0, process.exitValue(), "sipp's exit status: ${explain()}")
    }

    /**
     * When SIPp sent each `486 Busy Here`, by the `To` header of the
     * response (which carries the called number).
     */
    fun busySentAt(): Map<String, Instant> {
        val blocks = read("messages.txt").split(Regex("(?m)^-{20,} ")).drop(1)
        return blocks.filter { "UDP message sent" in it && Regex("(?m)^SIP/2.0 486 ").containsMatchIn(it) }
            .associate { block ->
                val to = Regex("(?m)^To:.*$").find(block)?.value ?: error("no To in $block")
                val stamp = block.lineSequence().first().trim()
                to to LocalDateTime.parse(stamp, traceTime).atZone(ZoneId.systemDefault()).toInstant()
            }
    }

    private fun read(name: String): String = File(dir, name).takeIf { it.exists() }?.readText().orEmpty()

    fun explain(): String =
        "sipp stderr: ${read("stderr.txt")}\nsipp errors: ${read("errors.txt")}\n" +
            "sipp messages (tail):\n${read("messages.txt").takeLast(3000)}"

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
        dir.deleteRecursively()
    }
}

/**
 * A `motp serve` of this test's own, on SQLite in a temporary directory,
 * placing real SIP calls through a trunk at `127.0.0.1:[sipPort]`.
 */
class ServeProcess private constructor(
    private val process: Process,
    private val dir: File,
    private val url: String,
    private val publishableKey: String,
) : AutoCloseable {
    companion object {
        fun start(sipPort: Int): ServeProcess {
            val motp = motpBinary()
            val dir = Files.createTempDirectory("motp-busy").toFile()
            val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
            val config = File(dir, "motp.toml")
            config.writeText(
                """
                [server]
                listen = "127.0.0.1:$port"
                [database]
                url = "sqlite://${File(dir, "motp.db").path}"
                [codes]
                ttl_secs = 300
                max_attempts = 3
                resend_cooldown_secs = 0
                [[codes.ranges]]
                prefix = "+44207946"
                code_length = 4
                [limits]
                allowed_countries = ["GB"]
                per_ip_per_minute = 100000
                per_ip_burst = 100000
                per_app_per_minute = 100000
                per_app_burst = 100000
                [telephony]
                provider = "sip"
                # Rings longer than SIPp's 1-1.25 s before the 486: the server never cancels first.
                ring_secs = 5
                [telephony.sip]
                proxy = "127.0.0.1:$sipPort"
                bind = "127.0.0.1:0"
                t1_ms = 100
                [log]
                filter = "warn"
                """.trimIndent(),
            )
            val keys = ProcessBuilder(motp.path, "keys", "create", "--app", "kotlin-busy", "--config", config.path, "--json")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start()
            val json = keys.inputStream.bufferedReader().readText()
            check(keys.waitFor() == 0) { "motp keys create failed: $json" }
            val process = ProcessBuilder(motp.path, "serve", "--config", config.path)
                .redirectErrorStream(true)
                .redirectOutput(File(dir, "serve.log"))
                .start()
            val server = ServeProcess(process, dir, "http://127.0.0.1:$port", jsonString(json, "publishable_key"))
            server.awaitHealthy()
            return server
        }

        /**
         * 30-kotlin.sh copies `motp` beside the library directory
         * (`$work/lib`, `$work/motp`); a plain `target/debug` holds both.
         */
        private fun motpBinary(): File {
            val lib = File(System.getProperty("jna.library.path") ?: error("jna.library.path is not set"))
            return listOf(File(lib, "motp"), File(lib.parentFile, "motp")).firstOrNull { it.canExecute() }
                ?: error("no motp binary beside $lib: run scripts/test.d/30-kotlin.sh")
        }

        private val http: HttpClient = HttpClient.newHttpClient()
    }

    fun client(callTimeout: Duration): MotpClient = MotpClient(config(url, publishableKey, callTimeout = callTimeout))

    private fun awaitHealthy() {
        val deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos()
        while (true) {
            val ok = try {
                http.send(get("/healthz"), HttpResponse.BodyHandlers.discarding()).statusCode() == 200
            } catch (e: IOException) {
                false
            }
            if (ok) return
            if (!process.isAlive) error("motp serve exited (${process.exitValue()}): ${explain()}")
            check(System.nanoTime() < deadline) { "motp serve did not come up: ${explain()}" }
            Thread.sleep(50)
        }
    }

    private fun get(path: String): HttpRequest =
        HttpRequest.newBuilder(URI("$url$path"))
            .header("Authorization", "Bearer $publishableKey")
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build()

    /** The moment a `GET` of the verification first says `failed`, polled every 5 ms. */
    class Recorded internal constructor(private val thread: Thread, private val at: () -> Instant?) {
        fun await(millis: Long): Instant {
            thread.join(millis)
            return at() ?: fail("the server did not record the call failed within $millis ms")
        }
    }

    fun watchForFailed(id: String): Recorded {
        val seen = java.util.concurrent.atomic.AtomicReference<Instant?>()
        val deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos()
        val poller = thread(isDaemon = true, name = "busy-get-poll") {
            while (System.nanoTime() < deadline) {
                val body = http.send(get("/v1/verifications/$id"), HttpResponse.BodyHandlers.ofString()).body()
                if (Regex("\"status\"\\s*:\\s*\"failed\"").containsMatchIn(body)) {
                    seen.set(Instant.now())
                    return@thread
                }
                Thread.sleep(5)
            }
        }
        return Recorded(poller) { seen.get() }
    }

    fun explain(): String = "motp serve log:\n" + File(dir, "serve.log").takeIf { it.exists() }?.readText().orEmpty().takeLast(3000)

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
        dir.deleteRecursively()
    }
}
