#if canImport(CallKit) && canImport(Combine) && os(iOS)
@preconcurrency import CallKit
import Combine
import Foundation

/// Tells the UI "a call just arrived" so it can focus the code field:
/// `MotpCodeField(…).focusRequests(observer.arrivals)` (MotpUI). It cannot
/// read the number: no iOS app can. It needs no permission and no
/// entitlement. This product is opt-in: only apps that add MotpCallKit
/// link CallKit.
///
/// Main-actor isolated: create it, `start()` it while the code field is on
/// screen and `stop()` it afterwards from the main actor (a SwiftUI
/// `@StateObject` with `.onAppear` / `.onDisappear` does), and every update
/// of `latest` and `arrivals` comes on the main actor. CallKit reports
/// calls only while the app runs: with the compact incoming-call banner
/// (the default since iOS 14) that covers the whole flash call; after a
/// full-screen call UI the `.ended` arrival comes when the app is active
/// again.
@MainActor
public final class CallArrivalObserver: NSObject, ObservableObject {
    /// The latest arrival, for SwiftUI's `onChange(of:)`.
    @Published public private(set) var latest: CallArrival?

    /// Every arrival as it happens, on the main actor.
    public var arrivals: AnyPublisher<CallArrival, Never> {
        subject.eraseToAnyPublisher()
    }

    private let observer = CXCallObserver()
    private let subject = PassthroughSubject<CallArrival, Never>()
    private var tracker = CallArrivalTracker()
    /// Bumped by `start()` and `stop()`: a read of `calls` that finishes
    /// after the observer was stopped or restarted is dropped.
    private var generation = 0
    private var running = false

    override public init() {
        super.init()
    }

    /// Starts reporting calls; a call already ringing is reported shortly
    /// after (CallKit's list of current calls is read off the main thread,
    /// where it may block).
    public func start() {
        generation += 1
        running = true
        tracker.reset()
        observer.setDelegate(self, queue: .main)
        let generation = self.generation
        let observer = self.observer
        DispatchQueue.global(qos: .userInitiated).async {
            let current = observer.calls.map { CallSnapshot($0) }
            DispatchQueue.main.async {
                MainActor.assumeIsolated {
                    guard self.running, self.generation == generation else { return }
                    for snapshot in current {
                        self.handle(snapshot)
                    }
                }
            }
        }
    }

    /// Stops reporting calls.
    public func stop() {
        generation += 1
        running = false
        observer.setDelegate(nil, queue: nil)
    }

    private func handle(_ snapshot: CallSnapshot) {
        guard running, let arrival = tracker.arrival(for: snapshot) else { return }
        latest = arrival
        subject.send(arrival)
    }
}

extension CallArrivalObserver: CXCallObserverDelegate {
    /// CallKit's callback, on the main queue (`start()` asks for it).
    nonisolated public func callObserver(_ callObserver: CXCallObserver, callChanged call: CXCall) {
        let snapshot = CallSnapshot(call)
        MainActor.assumeIsolated {
            handle(snapshot)
        }
    }
}

extension CallSnapshot {
    /// The plain values of a CallKit call.
    init(_ call: CXCall) {
        self.init(
            callID: call.uuid,
            isOutgoing: call.isOutgoing,
            hasConnected: call.hasConnected,
            hasEnded: call.hasEnded
        )
    }
}
#endif
