import Foundation
import MotpFFI

/// Receives a verification's state changes from the core (it is the
/// `VerificationListener` passed to `startVerification`) and hands each
/// change to every `AsyncStream` subscribed to it.
///
/// A new subscriber gets the current state first, then every change, and
/// its stream finishes after a final state. Nothing changes after a final
/// state: later calls are ignored. Consecutive equal states are dropped.
/// A subscriber that goes away (its task cancelled, its stream dropped, a
/// `break` out of `for await`) is only removed: it never cancels anything.
final class StateBroadcast: VerificationListener, @unchecked Sendable {
    // Guards everything below. Continuations are yielded to under the lock
    // so that subscribers see changes in the order they happened; they are
    // finished outside it, because `finish()` runs `onTermination` at once,
    // and that takes the lock again.
    private let lock = NSLock()
    private var latest: VerificationState?
    private var ended = false
    private var subscribers: [UInt64: AsyncStream<VerificationState>.Continuation] = [:]
    private var nextSubscriber: UInt64 = 0

    /// The last state published, if any.
    var current: VerificationState? {
        lock.lock()
        defer { lock.unlock() }
        return latest
    }

    /// Whether a final state was published.
    var hasEnded: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ended
    }

    // VerificationListener: called by the core, on one of its threads, in order.
    func onStateChanged(state: VerificationState) throws {
        publish(state)
    }

    /// Publishes `state` only if nothing was published yet; used to start
    /// from `Verification.state()` when the core sent no change before the
    /// verification was handed over.
    func seed(_ state: VerificationState) {
        publish(state, onlyIfFirst: true)
    }

    func publish(_ state: VerificationState) {
        publish(state, onlyIfFirst: false)
    }

    private func publish(_ state: VerificationState, onlyIfFirst: Bool) {
        var finishing: [AsyncStream<VerificationState>.Continuation] = []
        lock.lock()
        if ended || latest == state || (onlyIfFirst && latest != nil) {
            lock.unlock()
            return
        }
        latest = state
        for continuation in subscribers.values {
            continuation.yield(state)
        }
        if state.endsVerification {
            ended = true
            finishing = Array(subscribers.values)
            subscribers.removeAll()
        }
        lock.unlock()
        for continuation in finishing {
            continuation.finish()
        }
    }

    /// A stream of the current state and every later change, finishing
    /// after a final state.
    func subscribe() -> AsyncStream<VerificationState> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            lock.lock()
            let id = nextSubscriber
            nextSubscriber += 1
            lock.unlock()

            // Set before the continuation is shared, so no termination is missed.
            continuation.onTermination = { [weak self] _ in
                self?.unsubscribe(id)
            }

            lock.lock()
            if let latest {
                continuation.yield(latest)
            }
            if ended {
                lock.unlock()
                continuation.finish()
                return
            }
            subscribers[id] = continuation
            lock.unlock()
        }
    }

    /// Removes a subscriber.
    private func unsubscribe(_ id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        subscribers[id] = nil
    }
}

extension VerificationState {
    /// Whether nothing can change after this state. Same answer as the
    /// core's `isFinal()`, without a call into Rust, so that the stream
    /// logic runs on fakes; the exhaustive switch breaks the build when a
    /// state is added.
    var endsVerification: Bool {
        switch self {
        case .verified, .failed, .expired, .canceled:
            return true
        case .idle, .requesting, .awaitingCall, .manualEntry, .verifying:
            return false
        }
    }
}
