package dev.motp.sdk

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.time.Instant
import java.time.temporal.ChronoUnit
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.thread

/**
 * A scripted HTTP server for the answers the real server does not give on
 * demand (5xx, nonsense, a failed call, 404/409 on a check, no answer at
 * all): each request gets the response [respond] returns for its method and
 * path, and is kept in [requests].
 */
class FakeServer(private val respond: (method: String, path: String) -> Answer) : AutoCloseable {
    data class Answer(val status: Int, val body: String, val contentType: String = "application/json")

    /** One request received: method, path and body. */
    data class Request(val method: String, val path: String, val body: String)

    val requests = CopyOnWriteArrayList<Request>()

    private val http = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
        createContext("/") { exchange ->
            val body = exchange.requestBody.use { String(it.readBytes()) }
            requests += Request(exchange.requestMethod, exchange.requestURI.path, body)
            val answer = respond(exchange.requestMethod, exchange.requestURI.path)
            if (answer === DROP) {
                // Closed before any response header: the connection itself is closed.
                exchange.close()
                return@createContext
            }
            val bytes = answer.body.toByteArray()
            exchange.responseHeaders.add("Content-Type", answer.contentType)
            exchange.sendResponseHeaders(answer.status, if (bytes.isEmpty()) -1 else bytes.size.toLong())
            exchange.responseBody.use { it.write(bytes) }
        }
        start()
    }

    val url = "http://127.0.0.1:${http.address.port}"

    override fun close() = http.stop(0)

    companion object {
        /** No answer: the connection is closed once the request is read (a network error). */
        val DROP = Answer(0, "")

        /** A freshly created verification, as `POST /v1/verifications` returns it. */
        fun verification(status: String = "calling", failureReason: String? = null): Answer {
            val now = Instant.now().truncatedTo(ChronoUnit.SECONDS)
            val failure = failureReason?.let { """, "failure_reason": "$it"""" } ?: ""
            return Answer(
                201,
                """{"id": "vf_fake", "status": "$status", "phone_number": "+447700900001",
                   "caller": {"prefix": "+44207946", "code_length": 4},
                   "expires_at": "${now.plusSeconds(300)}", "resend_after": "${now.plusSeconds(30)}",
                   "attempts_left": 3$failure}""",
            )
        }

        /** An RFC 9457 problem of the given type slug. */
        fun problem(status: Int, type: String) = Answer(
            status,
            """{"type": "https://motp.dev/problems/$type", "title": "$type", "status": $status}""",
            "application/problem+json",
        )
    }
}

/** Accepts connections and never answers: every request times out. */
class SilentServer : AutoCloseable {
    private val socket = ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())
    private val accepted = CopyOnWriteArrayList<Socket>()
    private val acceptor = thread(isDaemon = true) {
        runCatching { while (true) accepted += socket.accept() }
    }

    val url = "http://127.0.0.1:${socket.localPort}"

    override fun close() {
        socket.close()
        accepted.forEach { it.close() }
        acceptor.join(1000)
    }
}

/** A loopback URL where nothing listens. */
fun closedPortUrl(): String {
    val port = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
    return "http://127.0.0.1:$port"
}
