import Foundation
import MotpFFI

/// One running verification, from `MotpVerifier.start(phoneNumber:)`.
///
/// Watch `states`, show `MotpCodeField` with `caller`, pass what the user
/// typed to `submitCode(_:)`, and send the token from `.verified(token:)` to
/// your backend, which confirms it with the mOTP server before trusting it.
///
/// Keep a reference while it runs: releasing the last one cancels a
/// verification that has not ended. Safe to use from any thread.
public final class MotpVerification: @unchecked Sendable {
    /// What the calling number looks like: its `prefix` (`+442079460`) and
    /// how many digits follow it (`codeLength`). Those digits are the code.
    public let caller: CallerInfo

    private let verification: any VerificationProtocol
    private let broadcast: StateBroadcast

    init(_ verification: any VerificationProtocol, broadcast: StateBroadcast) {
        self.verification = verification
        self.broadcast = broadcast
        caller = verification.caller()
        broadcast.seed(verification.state())
    }

    /// The server's identifier of this verification.
    public var id: String { verification.id() }

    /// Expiry, when a resend is allowed, attempts left. Changes after a
    /// resend or a wrong code.
    public var info: VerificationInfo { verification.info() }

    /// The current state.
    public var state: VerificationState { verification.state() }

    /// The current state, then every change, ending after a final state
    /// (`.verified`, `.failed`, `.expired`, `.canceled`).
    ///
    /// Watching never changes the verification: leaving the loop (`break`,
    /// `first(where:)`), dropping the stream or cancelling the task that
    /// iterates it (a SwiftUI `.task` whose view went away) only stops
    /// watching. To stop the verification, call `cancel()`, for example in
    /// `.onDisappear`; releasing the last reference to this object cancels
    /// one that has not ended, too. Each access makes a new stream; any
    /// number may be watched at once.
    public var states: AsyncStream<VerificationState> {
        broadcast.subscribe()
    }

    /// The token once the verification succeeds.
    ///
    /// Throws the reason it did not: the `MotpError` of `.failed`,
    /// `MotpError.Expired` or `MotpError.Canceled`. Cancelling the awaiting
    /// task stops the wait with `CancellationError` and leaves the
    /// verification running; call `cancel()` to stop it.
    public var token: String {
        get async throws {
            for await state in states {
                switch state {
                case let .verified(token):
                    return token
                case let .failed(error):
                    throw error
                case .expired:
                    throw MotpError.Expired
                case .canceled:
                    throw MotpError.Canceled
                case .idle, .requesting, .awaitingCall, .manualEntry, .verifying:
                    try Task.checkCancellation()
                    continue
                }
            }
            // The stream only ends early when the task was cancelled.
            throw CancellationError()
        }
    }

    /// The next thing the server reports about the call: `.ringing` (a
    /// good moment to bring the code field forward, with no CallKit at
    /// all), `.delivered` (the number is in Recents), `.failed(reason:)`;
    /// nil once the verification ended. Cancelling the task stops the wait
    /// at once and leaves the verification running.
    public func nextCallEvent() async throws -> CallEvent? {
        let verification = self.verification
        return try await withPromptCancellation {
            try await verification.nextCallEvent()
        }
    }

    /// Checks a code the user typed (the last `caller.codeLength` digits of
    /// the number that called) and returns the token when the server
    /// approves it. The outcome also arrives in `states`.
    ///
    /// Throws `MotpError.InvalidInput` when it is not `caller.codeLength`
    /// digits (nothing is sent), `.WrongCode` with the attempts left (let
    /// the user type again), `.Expired`, `.InvalidState` while another
    /// check runs or after the end, or a network error. Cancelling the task
    /// stops the wait at once with `CancellationError`; a check already
    /// sent still counts, and its outcome arrives in `states`.
    @discardableResult
    public func submitCode(_ code: String) async throws -> String {
        let verification = self.verification
        return try await withPromptCancellation {
            try await verification.submitCode(code: code)
        }
    }

    /// Asks for a new call with a new code, allowed from `info.resendAfter`
    /// on; earlier it throws `MotpError.RateLimited` saying how long to
    /// wait. Cancelling the task stops the wait at once.
    public func resend() async throws {
        let verification = self.verification
        try await withPromptCancellation {
            try await verification.resend()
        }
    }

    /// Cancels the verification: the state becomes `.canceled` (every
    /// `states` stream ends with it) and the server stops calling. No
    /// effect once it has ended. Returns at once; if the server cannot be
    /// told, the verification expires there by itself.
    ///
    /// This is the only way, besides releasing the object, that a
    /// verification is cancelled: watching `states` or awaiting `token`
    /// never cancels it.
    public func cancel() {
        let verification = self.verification
        Task { try? await verification.cancel() }
    }
}
