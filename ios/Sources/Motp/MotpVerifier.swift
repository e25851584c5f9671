import Foundation
import MotpFFI

/// Starts phone-number verifications by missed call.
///
/// Create one when the app starts and keep it: it holds the connection
/// pool. Safe to use from any thread and any task.
public final class MotpVerifier: @unchecked Sendable {
    private let client: any MotpClientProtocol

    /// A verifier for the server described by `config`. Nothing is sent yet.
    ///
    /// Throws `MotpError.InvalidInput` when the URL is malformed, the key is
    /// empty or secret (`sk_…`: never ship one in an app), the home country
    /// is unknown, or a timeout is zero.
    public convenience init(config: MotpConfig) throws {
        self.init(client: try MotpClient(config: config))
    }

    /// A verifier over any client, such as a fake in your tests.
    public init(client: any MotpClientProtocol) {
        self.client = client
    }

    /// Asks the server to call `phoneNumber` (E.164, or national in the
    /// home country) and returns the running verification.
    ///
    /// No app can read a caller's number on iOS, so the verification starts
    /// with `visibility: .hidden` and the core asks for the code at once:
    /// it is in `.manualEntry(reason: .callsUnreadable)` by the time it is
    /// returned. Show `MotpCodeField` and let the user type the last digits
    /// of the number that calls.
    ///
    /// Throws `MotpError.InvalidPhoneNumber`, `.DestinationNotAllowed`,
    /// `.RateLimited`, `.Unauthorized` or a network error (`.Network`,
    /// `.Timeout`, `.Server`). Cancelling the task ends the wait at once
    /// with `CancellationError`; a verification the server started in the
    /// meantime is cancelled as soon as it arrives.
    public func start(phoneNumber: String) async throws -> MotpVerification {
        let broadcast = StateBroadcast()
        let client = self.client
        let verification = try await withPromptCancellation {
            try await client.startVerification(phoneNumber: phoneNumber, visibility: .hidden, listener: broadcast)
        } abandoned: { late in
            // Nobody waits for it any more; the server stops calling.
            try? await late.cancel()
        }
        return MotpVerification(verification, broadcast: broadcast)
    }
}
