import Foundation

/// Runs `operation` so that cancelling the calling task ends the wait at
/// once with `CancellationError`.
///
/// UniFFI's Swift bindings do not stop a Rust future when the awaiting task
/// is cancelled: the call would run on until the server answers. Here the
/// call runs in its own task and the caller stops waiting for it; if it
/// still produces a value after the caller gave up, `abandoned` receives
/// that value (for example to cancel a verification nobody will use).
func withPromptCancellation<T: Sendable>(
    _ operation: @escaping @Sendable () async throws -> T,
    abandoned: @escaping @Sendable (T) async -> Void = { _ in }
) async throws -> T {
    try Task.checkCancellation()
    let outcome = SingleOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            // Cancelled already: no reason to start the call at all.
            guard outcome.wait(with: continuation) else { return }
            Task {
                do {
                    let value = try await operation()
                    if !outcome.deliver(.success(value)) {
                        await abandoned(value)
                    }
                } catch {
                    outcome.deliver(.failure(error))
                }
            }
        }
    } onCancel: {
        outcome.deliver(.failure(CancellationError()))
    }
}

/// The first of several competing results, handed to one continuation
/// exactly once, whichever comes first: the result or the continuation.
final class SingleOutcome<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Error>?
    private var pending: Result<T, Error>?
    private var settled = false

    /// Hands over the continuation; returns false when a result was
    /// already there (it has been delivered to `continuation`).
    func wait(with continuation: CheckedContinuation<T, Error>) -> Bool {
        lock.lock()
        if let pending {
            self.pending = nil
            lock.unlock()
            continuation.resume(with: pending)
            return false
        }
        self.continuation = continuation
        lock.unlock()
        return true
    }

    /// Offers a result; returns false when another result came first.
    @discardableResult
    func deliver(_ result: Result<T, Error>) -> Bool {
        lock.lock()
        if settled {
            lock.unlock()
            return false
        }
        settled = true
        guard let continuation else {
            pending = result
            lock.unlock()
            return true
        }
        self.continuation = nil
        lock.unlock()
        continuation.resume(with: result)
        return true
    }
}
