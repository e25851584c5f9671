#if canImport(CallKit) && os(iOS)
import CallKit
import Combine
import Foundation

/// Tells the UI "a call just arrived" so it can focus the code field; see
/// `MotpCodeField.focusOnCallArrival(_:)`. It cannot read the number: no
/// iOS app can. It needs no permission and no entitlement.
///
/// Create it on the main thread (a SwiftUI `@StateObject` does), `start()`
/// it while the code field is on screen and `stop()` it afterwards.
/// Updates come on the main thread. CallKit reports calls only while the
/// app runs: with the compact incoming-call banner (the default since
/// iOS 14) that covers the whole flash call; after a full-screen call UI
/// the `.ended` arrival comes when the app is active again.
public final class CallArrivalObserver: NSObject, ObservableObject, CXCallObserverDelegate, @unchecked Sendable {
    /// The latest arrival, for SwiftUI's `onChange(of:)`.
    @Published public private(set) var latest: CallArrival?

    /// Every arrival as it happens.
    public var arrivals: AnyPublisher<CallArrival, Never> {
        subject.eraseToAnyPublisher()
    }

    private let observer = CXCallObserver()
    private let subject = PassthroughSubject<CallArrival, Never>()
    // Touched on the main thread only: the delegate queue is the main queue.
    private var tracker = CallArrivalTracker()

    override public init() {
        super.init()
    }

    /// Starts reporting calls; a call already ringing is reported at once.
    public func start() {
        tracker.reset()
        observer.setDelegate(self, queue: .main)
        for call in observer.calls {
            handle(call)
        }
    }

    /// Stops reporting calls.
    public func stop() {
        observer.setDelegate(nil, queue: nil)
    }

    public func callObserver(_ callObserver: CXCallObserver, callChanged call: CXCall) {
        handle(call)
    }

    private func handle(_ call: CXCall) {
        let snapshot = CallSnapshot(
            callID: call.uuid,
            isOutgoing: call.isOutgoing,
            hasConnected: call.hasConnected,
            hasEnded: call.hasEnded
        )
        guard let arrival = tracker.arrival(for: snapshot) else { return }
        latest = arrival
        subject.send(arrival)
    }
}
#endif
