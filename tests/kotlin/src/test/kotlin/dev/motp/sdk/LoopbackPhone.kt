package dev.motp.sdk

import kotlinx.coroutines.channels.Channel
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.SocketAddress
import java.net.URLDecoder
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import kotlin.concurrent.thread

/**
 * A phone for the SIP server to call: a minimal SIP user agent on a
 * loopback UDP port that rings and never answers (`100 Trying`,
 * `180 Ringing`; a CANCEL gets `200 OK` and the INVITE `487`), and reports
 * each incoming caller number with the time the INVITE arrived, the way
 * Android's phone-state broadcast does. Written from RFC 3261 for these
 * tests, independently of the server's own loopback handset, so the two
 * SIP stacks check each other.
 */
class LoopbackPhone(port: Int) : AutoCloseable {
    /** One incoming call as the phone saw it. */
    data class IncomingCall(val number: String, val callee: String, val observedAt: Instant)

    private val socket = DatagramSocket(InetSocketAddress(InetAddress.getLoopbackAddress(), port))
    private val calls = Channel<IncomingCall>(Channel.UNLIMITED)
    private val invites = ConcurrentHashMap<String, Map<String, List<String>>>()
    private val loop = thread(isDaemon = true, name = "loopback-phone") { serve() }

    /** Every call seen so far, for failure messages. */
    val seen = java.util.concurrent.CopyOnWriteArrayList<IncomingCall>()

    /** The next call to [callee] (E.164), waiting in real time. */
    suspend fun awaitCallTo(callee: String, seconds: Long = 10): IncomingCall = try {
        realTime(seconds) {
            var call = calls.receive()
            while (call.callee != callee) call = calls.receive()
            call
        }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("no call to $callee within $seconds s on port ${socket.localPort}; seen: $seen")
    }

    override fun close() {
        socket.close()
        loop.join(1000)
    }

    private fun serve() {
        val buffer = ByteArray(65_535)
        while (!socket.isClosed) {
            val packet = DatagramPacket(buffer, buffer.size)
            try {
                socket.receive(packet)
            } catch (e: java.io.IOException) {
                return
            }
            val text = String(packet.data, 0, packet.length, Charsets.UTF_8)
            try {
                handle(text, packet.socketAddress)
            } catch (e: Exception) {
                System.err.println("loopback phone: cannot handle a datagram: $e")
            }
        }
    }

    private fun handle(message: String, from: SocketAddress) {
        val lines = message.split("\r\n")
        val method = lines.first().substringBefore(' ')
        val headers = parseHeaders(lines.drop(1).takeWhile { it.isNotEmpty() })
        val callId = headers["call-id"]?.first() ?: return
        when (method) {
            "INVITE" -> {
                if (invites.putIfAbsent(callId, headers) == null) {
                    val call = IncomingCall(userOf(headers["from"]!!.first()), userOf(headers["to"]!!.first()), Instant.now())
                    seen += call
                    calls.trySend(call)
                }
                reply(from, headers, "100 Trying")
                reply(from, headers, "180 Ringing")
            }
            "CANCEL" -> {
                reply(from, headers, "200 OK")
                invites[callId]?.let { reply(from, it, "487 Request Terminated") }
            }
            "BYE" -> reply(from, headers, "200 OK")
            else -> Unit // ACK, and anything else, needs no answer.
        }
    }

    private fun reply(to: SocketAddress, request: Map<String, List<String>>, status: String) {
        val toHeader = request["to"]!!.first().let { if (";tag=" in it) it else "$it;tag=loopback-phone" }
        val text = buildString {
            append("SIP/2.0 $status\r\n")
            request["via"]!!.forEach { append("Via: $it\r\n") }
            append("From: ${request["from"]!!.first()}\r\n")
            append("To: $toHeader\r\n")
            append("Call-ID: ${request["call-id"]!!.first()}\r\n")
            append("CSeq: ${request["cseq"]!!.first()}\r\n")
            append("Content-Length: 0\r\n\r\n")
        }
        val bytes = text.toByteArray(Charsets.UTF_8)
        socket.send(DatagramPacket(bytes, bytes.size, to))
    }

    private companion object {
        val compact = mapOf("v" to "via", "f" to "from", "t" to "to", "i" to "call-id", "l" to "content-length")

        fun parseHeaders(lines: List<String>): Map<String, List<String>> {
            val headers = linkedMapOf<String, MutableList<String>>()
            for (line in lines) {
                val name = line.substringBefore(':').trim().lowercase().let { compact[it] ?: it }
                val value = line.substringAfter(':').trim()
                // Via may carry several comma-separated values; keep them apart.
                val values = if (name == "via") value.split(',').map { it.trim() } else listOf(value)
                headers.getOrPut(name) { mutableListOf() } += values
            }
            return headers
        }

        /** The user part of the URI in a From/To value: `+442079460123`. */
        fun userOf(nameAddr: String): String {
            val uri = nameAddr.substringAfter('<', nameAddr).substringBefore('>')
            val user = uri.substringAfter("sip:").substringAfter("tel:").substringBefore('@').substringBefore(';')
            // Percent-decoding only: a literal `+` stays a plus (URLDecoder
            // would read it as a space, as in HTML forms).
            return URLDecoder.decode(user.replace("+", "%2B"), Charsets.UTF_8)
        }
    }
}
