package dev.motp.sdk

import dev.motp.core.MotpConfig
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger

/**
 * One `motp serve` started by scripts/test.d/30-kotlin.sh, described by
 * system properties (`motp.server.url`, `motp.publishable.key`,
 * `motp.secret.key`, or the `motp.short.` ones for the server whose codes
 * live 2 seconds).
 */
class TestServer private constructor(prefix: String) {
    val url: String = property("${prefix}server.url")
    val publishableKey: String = property("${prefix}publishable.key")
    private val secretKey: String = property("${prefix}secret.key")

    /** A client for this server, with short timeouts so failures are fast. */
    fun client(
        key: String = publishableKey,
        homeCountry: String = "GB",
        callTimeout: Duration? = null,
    ): MotpClient = MotpClient(config(url, key, homeCountry, callTimeout))

    /**
     * The number that called the phone for [verificationId], read through
     * the server's development endpoint: what Android's phone state would
     * report when the flash call rings.
     */
    fun lastCaller(verificationId: String, sequence: Int = 1): String {
        // The server records the call when its telephony task places it,
        // which may be just after the create request returned.
        val deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos()
        while (true) {
            val request = HttpRequest.newBuilder(URI("$url/v1/dev/calls/$verificationId"))
                .header("Authorization", "Bearer $secretKey")
                .timeout(Duration.ofSeconds(5))
                .GET()
                .build()
            val response = http.send(request, HttpResponse.BodyHandlers.ofString())
            val body = response.body()
            if (response.statusCode() == 200 && jsonNumber(body, "sequence") >= sequence) {
                return jsonString(body, "caller")
            }
            check(response.statusCode() in setOf(200, 404)) { "dev calls: HTTP ${response.statusCode()}: $body" }
            check(System.nanoTime() < deadline) { "no call $sequence recorded for $verificationId: $body" }
            Thread.sleep(20)
        }
    }

    companion object {
        /** The regular server: 300-second codes, 3 attempts, no resend cooldown, GB only. */
        val main by lazy { TestServer("motp.") }

        /** Codes live 2 seconds; resends wait 60 seconds. */
        val shortLived by lazy { TestServer("motp.short.") }

        /** Places real SIP calls to the phone on port `motp.phone.port` (see [LoopbackPhone]). */
        val sip by lazy { TestServer("motp.sip.") }

        /** The UDP port the SIP server calls. */
        val phonePort: Int get() = property("motp.phone.port").toInt()

        private val http: HttpClient = HttpClient.newHttpClient()

        private fun property(name: String): String =
            System.getProperty(name)?.takeIf { it.isNotBlank() }
                ?: error("system property $name is not set: run scripts/test.d/30-kotlin.sh")
    }
}

/** A config with timeouts suited to loopback tests. */
fun config(url: String, key: String, homeCountry: String = "GB", callTimeout: Duration? = null) =
    MotpConfig(
        serverUrl = url,
        publishableKey = key,
        homeCountry = homeCountry,
        requestTimeout = Duration.ofSeconds(5),
        callTimeout = callTimeout,
    )

private val numbers = AtomicInteger((System.nanoTime() % 500).toInt())

/**
 * A fresh valid UK mobile number (+44 7400 123xxx) for each verification,
 * so the per-number rate limits of one test do not leak into the next.
 * (The Ofcom drama range +44 7700 900xxx is not valid to libphonenumber.)
 */
fun freshPhoneNumber(): String = "+447400123%03d".format(numbers.getAndIncrement() % 1000)

/** The value of a top-level number field of a small JSON object. */
fun jsonNumber(json: String, field: String): Long =
    Regex("\"${Regex.escape(field)}\"\\s*:\\s*(\\d+)").find(json)?.groupValues?.get(1)?.toLong()
        ?: error("no number field $field in $json")

/** The value of a top-level string field of a small JSON object. */
fun jsonString(json: String, field: String): String =
    Regex("\"${Regex.escape(field)}\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)
        ?: error("no string field $field in $json")
