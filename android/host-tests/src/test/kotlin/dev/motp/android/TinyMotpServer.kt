package dev.motp.android

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import java.net.InetAddress
import java.net.InetSocketAddress
import java.time.Instant
import java.time.temporal.ChronoUnit
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger

/**
 * Just enough of the mOTP server's `/v1` protocol for the real core to run
 * a verification against it (the JSON of `core/src/protocol.rs`, as the
 * Rust tests' fake server in `core/tests/support/mod.rs` answers it):
 *
 * - `POST /v1/verifications` → 201, a verification that is `calling` from
 *   [prefix] with [codeLength] code digits;
 * - `POST /v1/verifications/{id}/check` → the first [lostChecks] checks get
 *   no answer at all: the connection is closed once the request is read, a
 *   network error for the client. After that, 200 `approved` with [token]
 *   for the caller ID or typed code that carries [code], else 422
 *   `wrong-code`;
 * - `POST /v1/verifications/{id}/resend` → 202, the same verification;
 * - `DELETE /v1/verifications/{id}` → 204.
 *
 * Listens on a loopback port of its own; [url] is its base URL.
 */
class TinyMotpServer(
    private val lostChecks: Int = 0,
    val prefix: String = "+442079460",
    val codeLength: Int = 3,
    val code: String = "123",
    val token: String = "tok",
) : AutoCloseable {
    /** One check the server received: its body, and whether it was answered. */
    data class Check(val body: String, val answered: Boolean) {
        /** The `caller_id` of the body, for a check of an observed call. */
        val callerId: String? get() = field("caller_id")

        /** The `code` of the body, for a typed code. */
        val code: String? get() = field("code")

        private fun field(name: String): String? =
            Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(body)?.groupValues?.get(1)
    }

    /** Every request, as `METHOD /path`, in order of arrival. */
    val requests = CopyOnWriteArrayList<String>()

    /** Every check, in order of arrival. */
    val checks = CopyOnWriteArrayList<Check>()

    private val checksSeen = AtomicInteger()
    private val id = "ver_tiny"

    private val http = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0).apply {
        createContext("/") { exchange ->
            try {
                handle(exchange)
            } finally {
                exchange.close()
            }
        }
        start()
    }

    val url: String = "http://127.0.0.1:${http.address.port}"

    private fun handle(exchange: HttpExchange) {
        val method = exchange.requestMethod
        val path = exchange.requestURI.path
        val body = exchange.requestBody.use { String(it.readBytes()) }
        requests += "$method $path"
        when {
            method == "POST" && path == "/v1/verifications" -> {
                val phone = Regex("\"phone_number\"\\s*:\\s*\"([^\"]*)\"").find(body)?.groupValues?.get(1).orEmpty()
                respond(exchange, 201, verification(phone))
            }
            method == "POST" && path == "/v1/verifications/$id/check" -> {
                if (checksSeen.incrementAndGet() <= lostChecks) {
                    checks += Check(body, answered = false)
                    // No status line, no headers: closing the exchange before
                    // sendResponseHeaders closes the connection itself.
                    return
                }
                checks += Check(body, answered = true)
                val check = checks.last()
                val digits = (check.callerId ?: check.code).orEmpty().filter(Char::isDigit)
                if (digits.endsWith(code) && digits.length >= code.length) {
                    respond(exchange, 200, """{"status": "approved", "token": "$token"}""")
                } else {
                    respond(
                        exchange, 422,
                        """{"type": "https://motp.dev/problems/wrong-code", "title": "wrong code",
                           "status": 422, "attempts_left": 2}""",
                        "application/problem+json",
                    )
                }
            }
            method == "POST" && path == "/v1/verifications/$id/resend" -> respond(exchange, 202, verification("+447700900123"))
            method == "DELETE" && path == "/v1/verifications/$id" -> {
                exchange.sendResponseHeaders(204, -1)
            }
            else -> respond(
                exchange, 404,
                """{"type": "https://motp.dev/problems/not-found", "title": "not found", "status": 404}""",
                "application/problem+json",
            )
        }
    }

    /** A verification as the server describes it; a resend is allowed at once. */
    private fun verification(phoneNumber: String): String {
        val now = Instant.now().truncatedTo(ChronoUnit.SECONDS)
        return """{"id": "$id", "status": "calling", "phone_number": "$phoneNumber",
                  "caller": {"prefix": "$prefix", "code_length": $codeLength},
                  "expires_at": "${now.plusSeconds(300)}", "resend_after": "$now",
                  "attempts_left": 3}"""
    }

    private fun respond(exchange: HttpExchange, status: Int, body: String, type: String = "application/json") {
        val bytes = body.toByteArray()
        exchange.responseHeaders.add("Content-Type", type)
        exchange.sendResponseHeaders(status, bytes.size.toLong())
        exchange.responseBody.use { it.write(bytes) }
    }

    override fun close() = http.stop(0)
}
