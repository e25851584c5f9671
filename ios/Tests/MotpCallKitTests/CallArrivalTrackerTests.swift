import Foundation
@testable import MotpCallKit
import XCTest

final class CallArrivalTrackerTests: XCTestCase {
    private let call = UUID()
    private let date = Date(timeIntervalSince1970: 1_800_000_000)

    private func snapshot(outgoing: Bool = false, connected: Bool = false, ended: Bool = false) -> CallSnapshot {
        CallSnapshot(callID: call, isOutgoing: outgoing, hasConnected: connected, hasEnded: ended)
    }

    func testAMissedCallRingsOnceAndEndsOnce() {
        var tracker = CallArrivalTracker()

        XCTAssertEqual(tracker.arrival(for: snapshot(), at: date), CallArrival(kind: .ringing, callID: call, date: date))
        XCTAssertNil(tracker.arrival(for: snapshot(), at: date), "CallKit repeats itself")
        XCTAssertEqual(tracker.arrival(for: snapshot(ended: true), at: date)?.kind, .ended)
        XCTAssertNil(tracker.arrival(for: snapshot(ended: true), at: date))
    }

    func testAnAnsweredCallEndsButDoesNotRingAgain() {
        var tracker = CallArrivalTracker()
        _ = tracker.arrival(for: snapshot(), at: date)

        XCTAssertNil(tracker.arrival(for: snapshot(connected: true), at: date))
        XCTAssertEqual(tracker.arrival(for: snapshot(connected: true, ended: true), at: date)?.kind, .ended)
    }

    func testAnEndedCallSeenFirstIsReported() {
        var tracker = CallArrivalTracker()
        XCTAssertEqual(tracker.arrival(for: snapshot(ended: true), at: date)?.kind, .ended)
    }

    func testOutgoingCallsAreIgnored() {
        var tracker = CallArrivalTracker()
        XCTAssertNil(tracker.arrival(for: snapshot(outgoing: true), at: date))
        XCTAssertNil(tracker.arrival(for: snapshot(outgoing: true, ended: true), at: date))
    }

    func testCallsAreToldApartAndResetForgetsThem() {
        var tracker = CallArrivalTracker()
        let other = CallSnapshot(callID: UUID(), isOutgoing: false, hasConnected: false, hasEnded: false)
        XCTAssertNotNil(tracker.arrival(for: snapshot(), at: date))
        XCTAssertNotNil(tracker.arrival(for: other, at: date))

        tracker.reset()

        XCTAssertNotNil(tracker.arrival(for: snapshot(), at: date))
    }
}
