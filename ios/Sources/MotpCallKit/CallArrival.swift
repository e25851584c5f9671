import Foundation

/// An incoming call noticed while a verification runs: the moment to bring
/// the code field into focus. iOS never tells an app the calling number,
/// so this carries none; the user reads it in the call list.
public struct CallArrival: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// An incoming call started ringing.
        case ringing
        /// An incoming call ended (a missed call, or one the user picked
        /// up): its number is now in the Phone app's Recents.
        case ended
    }

    public let kind: Kind
    /// CallKit's identifier of the call.
    public let callID: UUID
    public let date: Date

    public init(kind: Kind, callID: UUID, date: Date) {
        self.kind = kind
        self.callID = callID
        self.date = date
    }
}

/// What CallKit reports about one call, as plain values.
public struct CallSnapshot: Equatable, Sendable {
    public let callID: UUID
    public let isOutgoing: Bool
    public let hasConnected: Bool
    public let hasEnded: Bool

    public init(callID: UUID, isOutgoing: Bool, hasConnected: Bool, hasEnded: Bool) {
        self.callID = callID
        self.isOutgoing = isOutgoing
        self.hasConnected = hasConnected
        self.hasEnded = hasEnded
    }
}

/// Turns CallKit's call updates into arrivals: each incoming call rings
/// once and ends once, however often CallKit reports it; outgoing calls
/// are ignored. Plain Swift, so it is tested without CallKit.
public struct CallArrivalTracker: Sendable {
    private var reported: [UUID: Set<CallArrival.Kind>] = [:]

    public init() {}

    /// The arrival `snapshot` means, or nil when it adds nothing new.
    public mutating func arrival(for snapshot: CallSnapshot, at date: Date = Date()) -> CallArrival? {
        guard !snapshot.isOutgoing else { return nil }
        let kind: CallArrival.Kind
        if snapshot.hasEnded {
            kind = .ended
        } else if !snapshot.hasConnected {
            kind = .ringing
        } else {
            // Picked up and still going: its start was reported already.
            return nil
        }
        guard reported[snapshot.callID, default: []].insert(kind).inserted else { return nil }
        return CallArrival(kind: kind, callID: snapshot.callID, date: date)
    }

    /// Forgets every call seen so far.
    public mutating func reset() {
        reported.removeAll()
    }
}
