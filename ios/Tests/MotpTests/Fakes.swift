import Dispatch
import Foundation
@testable import Motp

/// A one-shot event a test can await, instead of sleeping.
///
/// The locks in these fakes are only ever taken in synchronous code (a
/// `locked` helper or a continuation's closure): Swift 6 forbids
/// `NSLock.lock()` directly in an async function.
final class Signal: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [UUID: CheckedContinuation<Bool, Never>] = [:]

    var hasFired: Bool {
        lock.lock()
        defer { lock.unlock() }
        return fired
    }

    func fire() {
        lock.lock()
        fired = true
        let waiting = Array(waiters.values)
        waiters.removeAll()
        lock.unlock()
        for waiter in waiting {
            waiter.resume(returning: true)
        }
    }

    /// True once fired; false if `timeout` seconds pass first.
    func wait(timeout: TimeInterval = 5) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            lock.lock()
            if fired {
                lock.unlock()
                continuation.resume(returning: true)
                return
            }
            let id = UUID()
            waiters[id] = continuation
            lock.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                self.lock.lock()
                let expired = self.waiters.removeValue(forKey: id)
                self.lock.unlock()
                expired?.resume(returning: false)
            }
        }
    }
}

/// A `Verification` with no Rust behind it: UniFFI's generated classes are
/// `open` and have an `init(noHandle:)` for exactly this. Every method is
/// overridden, since the originals would call into Rust. It behaves like
/// the core: state changes go to the listener in order, nothing changes
/// after a final state, and the call visibility decides between waiting for
/// the call and manual entry.
final class FakeVerification: Verification, @unchecked Sendable {
    static let pattern = CallerInfo(prefix: "+442079460", codeLength: 3)

    private let lock = NSLock()
    private var listener: VerificationListener?
    private var current: VerificationState = .idle
    private var codes: [String] = []
    private var visibilityChanges: [CallVisibility] = []
    private var cancels = 0
    private var resends = 0

    /// What `submitCode` answers.
    var submitOutcome: Result<String, MotpError> = .success("tok_1")
    /// When set, `submitCode` waits for it before answering.
    var submitGate: Signal?
    let submitStarted = Signal()
    let cancelled = Signal()

    init() {
        super.init(noHandle: Verification.NoHandle())
    }

    required init(unsafeFromHandle handle: UInt64) {
        fatalError("a fake has no Rust object")
    }

    var submittedCodes: [String] { locked { codes } }
    /// What `setCallVisibility` was told, in order.
    var callVisibilityChanges: [CallVisibility] { locked { visibilityChanges } }
    var cancelCount: Int { locked { cancels } }
    var resendCount: Int { locked { resends } }

    func attach(_ listener: VerificationListener?) {
        locked { self.listener = listener }
    }

    /// Moves to `state` and tells the listener, as the core does.
    func emit(_ state: VerificationState) {
        let listener = locked { () -> VerificationListener? in
            guard !current.endsVerification else { return nil }
            current = state
            return self.listener
        }
        try? listener?.onStateChanged(state: state)
    }

    override func caller() -> CallerInfo {
        Self.pattern
    }

    override func id() -> String {
        "ver_fake"
    }

    override func info() -> VerificationInfo {
        VerificationInfo(
            id: "ver_fake",
            phoneNumber: "+447700900123",
            caller: Self.pattern,
            expiresAt: Date(timeIntervalSince1970: 1_900_000_000),
            resendAfter: Date(timeIntervalSince1970: 1_899_999_970),
            attemptsLeft: 3
        )
    }

    override func state() -> VerificationState {
        locked { current }
    }

    override func setCallVisibility(visibility: CallVisibility) {
        locked { visibilityChanges.append(visibility) }
        // Waiting follows the visibility; a call timeout stays a call timeout.
        let waiting = Self.waitingState(for: visibility)
        switch state() {
        case .awaitingCall, .manualEntry(reason: .permissionMissing), .manualEntry(reason: .callsUnreadable):
            if state() != waiting {
                emit(waiting)
            }
        default:
            break
        }
    }

    /// The state after `Requesting` on a device with `visibility`, as the
    /// core decides it: wait for the call only when numbers can be read.
    static func waitingState(for visibility: CallVisibility) -> VerificationState {
        switch visibility {
        case .numbers:
            return .awaitingCall
        case .permissionMissing:
            return .manualEntry(reason: .permissionMissing)
        case .hidden:
            return .manualEntry(reason: .callsUnreadable)
        }
    }

    override func submitCode(code: String) async throws -> String {
        locked { codes.append(code) }
        emit(.verifying)
        submitStarted.fire()
        if let gate = submitGate {
            _ = await gate.wait()
        }
        switch submitOutcome {
        case let .success(token):
            emit(.verified(token: token))
            return token
        case let .failure(error):
            emit(.manualEntry(reason: .callsUnreadable))
            throw error
        }
    }

    override func resend() async throws {
        locked { resends += 1 }
    }

    override func cancel() async throws {
        locked { cancels += 1 }
        emit(.canceled)
        cancelled.fire()
    }

    override func nextState() async throws -> VerificationState {
        state()
    }

    override func nextCallEvent() async throws -> CallEvent? {
        nil
    }

    override func onIncomingCall(number: String, observedAt: Date) async throws -> CallMatch {
        .ignored(reason: .notAwaitingCall)
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A `MotpClientProtocol` handing out one `FakeVerification`, announcing
/// `Requesting` and then `AwaitingCall` or `ManualEntry` (as the visibility
/// says) before returning, as the core does.
final class FakeClient: MotpClientProtocol, @unchecked Sendable {
    let verification = FakeVerification()
    let startCalled = Signal()
    /// When set, `startVerification` waits for it before returning.
    var startGate: Signal?
    var startError: MotpError?

    private let lock = NSLock()
    private var numbers: [String] = []
    private var seen: [CallVisibility] = []

    var phoneNumbers: [String] {
        lock.lock()
        defer { lock.unlock() }
        return numbers
    }

    private func record(_ phoneNumber: String, _ visibility: CallVisibility) {
        lock.lock()
        defer { lock.unlock() }
        numbers.append(phoneNumber)
        seen.append(visibility)
    }

    /// The `visibility` of each `startVerification` call.
    var visibilities: [CallVisibility] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }

    func startVerification(
        phoneNumber: String,
        visibility: CallVisibility,
        listener: VerificationListener?
    ) async throws -> Verification {
        record(phoneNumber, visibility)
        startCalled.fire()
        if let gate = startGate {
            _ = await gate.wait()
        }
        if let startError {
            throw startError
        }
        verification.attach(listener)
        verification.emit(.requesting)
        verification.emit(FakeVerification.waitingState(for: visibility))
        return verification
    }

    /// Resuming is an Android concern today (process death); the iOS shell
    /// never calls it, so the fake refuses it loudly.
    func resumeVerification(
        id: String,
        startedAt: Date,
        visibility: CallVisibility,
        listener: VerificationListener?
    ) async throws -> Verification {
        throw MotpError.InvalidState(reason: "the iOS shell does not resume verifications")
    }
}
