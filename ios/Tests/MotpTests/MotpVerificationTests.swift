@testable import Motp
import XCTest

/// The verifier and its state stream over fakes of the generated types:
/// what reaches the stream, in which order, when it ends, and what task
/// cancellation does.
final class MotpVerificationTests: XCTestCase {
    private var client: FakeClient!
    private var fake: FakeVerification { client.verification }

    override func setUp() {
        super.setUp()
        client = FakeClient()
    }

    private func start() async throws -> MotpVerification {
        try await MotpVerifier(client: client).start(phoneNumber: "+447700900123")
    }

    private func collect(_ states: AsyncStream<VerificationState>) -> Task<[VerificationState], Never> {
        Task {
            var seen: [VerificationState] = []
            for await state in states {
                seen.append(state)
            }
            return seen
        }
    }

    func testStartsWithHiddenCallsSoTheCoreAsksForTheCode() async throws {
        let verification = try await start()

        XCTAssertEqual(client.phoneNumbers, ["+447700900123"])
        XCTAssertEqual(client.visibilities, [.hidden])
        XCTAssertEqual(fake.callVisibilityChanges, [], "the core decides on manual entry, not the shell")
        XCTAssertEqual(verification.state, .manualEntry(reason: .callsUnreadable))
        XCTAssertEqual(verification.caller, CallerInfo(prefix: "+442079460", codeLength: 3))
        XCTAssertEqual(verification.id, "ver_fake")
        XCTAssertEqual(verification.info.attemptsLeft, 3)
    }

    func testStreamStartsAtTheCurrentStateAndEndsAfterTheFinalOne() async throws {
        let verification = try await start()
        let seen = collect(verification.states)

        let token = try await verification.submitCode("123")

        XCTAssertEqual(token, "tok_1")
        XCTAssertEqual(fake.submittedCodes, ["123"])
        let states = await seen.value
        XCTAssertEqual(states, [.manualEntry(reason: .callsUnreadable), .verifying, .verified(token: "tok_1")])
        XCTAssertEqual(fake.cancelCount, 0, "a stream that ends by itself cancels nothing")
    }

    func testEverySubscriberSeesTheSameChanges() async throws {
        let verification = try await start()
        let first = collect(verification.states)
        let second = collect(verification.states)

        try await verification.submitCode("123")

        let firstStates = await first.value
        let secondStates = await second.value
        XCTAssertEqual(firstStates, secondStates)
        XCTAssertEqual(firstStates.last, .verified(token: "tok_1"))
    }

    func testSubscribingAfterTheEndGivesTheFinalStateOnly() async throws {
        let verification = try await start()
        try await verification.submitCode("123")

        let states = await collect(verification.states).value

        XCTAssertEqual(states, [.verified(token: "tok_1")])
    }

    func testCancellingTheWatchingTaskLeavesTheVerificationAlone() async throws {
        let verification = try await start()
        let states = verification.states
        let watcher = Task {
            for await _ in states {}
        }

        watcher.cancel()
        await watcher.value

        XCTAssertEqual(fake.cancelCount, 0)
        XCTAssertEqual(verification.state, .manualEntry(reason: .callsUnreadable))
    }

    func testLeavingTheLoopOrDroppingTheStreamCancelsNothing() async throws {
        let verification = try await start()

        for await state in verification.states {
            XCTAssertEqual(state, .manualEntry(reason: .callsUnreadable))
            break
        }
        let first = await verification.states.first { _ in true }
        _ = verification.states // made and dropped at once

        XCTAssertEqual(first, .manualEntry(reason: .callsUnreadable))
        XCTAssertEqual(fake.cancelCount, 0)
        // The verification still runs: a new watcher sees it through.
        let seen = collect(verification.states)
        try await verification.submitCode("123")
        let states = await seen.value
        XCTAssertEqual(states.last, .verified(token: "tok_1"))
    }

    func testCancellingTheTokenWaitLeavesTheVerificationAlone() async throws {
        let verification = try await start()
        let waiting = Task { try await verification.token }

        waiting.cancel()

        do {
            _ = try await waiting.value
            XCTFail("expected CancellationError")
        } catch is CancellationError {}
        XCTAssertEqual(fake.cancelCount, 0)
        XCTAssertEqual(verification.state, .manualEntry(reason: .callsUnreadable))
    }

    func testCancelEndsTheStreamWithCanceled() async throws {
        let verification = try await start()
        let seen = collect(verification.states)

        verification.cancel()

        let states = await seen.value
        XCTAssertEqual(states.last, .canceled)
        XCTAssertEqual(fake.cancelCount, 1)
    }

    func testTokenIsTheVerifiedToken() async throws {
        let verification = try await start()
        let token = Task { try await verification.token }

        try await verification.submitCode("123")

        let value = try await token.value
        XCTAssertEqual(value, "tok_1")
    }

    func testTokenThrowsWhyTheVerificationFailed() async throws {
        let verification = try await start()
        let token = Task { try await verification.token }

        fake.emit(.failed(error: .CallFailed(reason: "busy")))

        do {
            _ = try await token.value
            XCTFail("expected an error")
        } catch let error as MotpError {
            XCTAssertEqual(error, .CallFailed(reason: "busy"))
        }
    }

    func testTokenThrowsExpired() async throws {
        let verification = try await start()
        fake.emit(.expired)

        do {
            _ = try await verification.token
            XCTFail("expected an error")
        } catch let error as MotpError {
            XCTAssertEqual(error, .Expired)
        }
    }

    func testWrongCodeIsThrownAndTheUserCanTypeAgain() async throws {
        let verification = try await start()
        fake.submitOutcome = .failure(.WrongCode(attemptsLeft: 2))

        do {
            try await verification.submitCode("999")
            XCTFail("expected WrongCode")
        } catch let error as MotpError {
            XCTAssertEqual(error, .WrongCode(attemptsLeft: 2))
        }
        XCTAssertEqual(verification.state, .manualEntry(reason: .callsUnreadable))
    }

    func testStartErrorsReachTheCaller() async throws {
        client.startError = .InvalidPhoneNumber(reason: "too short")

        do {
            _ = try await start()
            XCTFail("expected an error")
        } catch let error as MotpError {
            XCTAssertEqual(error, .InvalidPhoneNumber(reason: "too short"))
        }
    }

    func testCancellingStartReturnsAtOnceAndCancelsTheLateVerification() async throws {
        let gate = Signal()
        client.startGate = gate
        let verifier = MotpVerifier(client: client)
        let starting = Task { try await verifier.start(phoneNumber: "+447700900123") }
        let called = await client.startCalled.wait()
        XCTAssertTrue(called)

        starting.cancel()

        do {
            _ = try await starting.value
            XCTFail("expected CancellationError")
        } catch is CancellationError {}
        // The server answers after the app gave up: that verification is cancelled.
        XCTAssertEqual(fake.cancelCount, 0)
        gate.fire()
        let cancelled = await fake.cancelled.wait()
        XCTAssertTrue(cancelled)
    }

    func testCancellingASubmitStopsTheWaitButTheCheckStillCounts() async throws {
        let verification = try await start()
        let seen = collect(verification.states)
        let gate = Signal()
        fake.submitGate = gate
        let submitting = Task { try await verification.submitCode("123") }
        let started = await fake.submitStarted.wait()
        XCTAssertTrue(started)

        submitting.cancel()

        do {
            _ = try await submitting.value
            XCTFail("expected CancellationError")
        } catch is CancellationError {}
        gate.fire()
        let states = await seen.value
        XCTAssertEqual(states.last, .verified(token: "tok_1"))
        XCTAssertEqual(fake.cancelCount, 0)
    }
}

/// The listener-to-stream fan-out on its own.
final class StateBroadcastTests: XCTestCase {
    func testDropsRepeatsAndIgnoresChangesAfterTheEnd() async {
        let broadcast = StateBroadcast()
        let stream = broadcast.subscribe()

        broadcast.publish(.requesting)
        broadcast.publish(.awaitingCall)
        broadcast.publish(.awaitingCall)
        broadcast.publish(.expired)
        broadcast.publish(.verifying)

        var seen: [VerificationState] = []
        for await state in stream {
            seen.append(state)
        }
        XCTAssertEqual(seen, [.requesting, .awaitingCall, .expired])
        XCTAssertEqual(broadcast.current, .expired)
        XCTAssertTrue(broadcast.hasEnded)
    }

    func testSeedOnlyFillsAnEmptyBroadcast() {
        let broadcast = StateBroadcast()
        broadcast.seed(.awaitingCall)
        broadcast.seed(.requesting)
        XCTAssertEqual(broadcast.current, .awaitingCall)
    }

    func testListenerCallsArePublished() throws {
        let broadcast = StateBroadcast()
        try broadcast.onStateChanged(state: .verifying)
        XCTAssertEqual(broadcast.current, .verifying)
    }

    func testACancelledSubscriberIsRemovedAndTheOthersCarryOn() async {
        let broadcast = StateBroadcast()
        broadcast.publish(.awaitingCall)
        let cancelled = broadcast.subscribe()
        let watcher = Task {
            for await _ in cancelled {}
        }
        watcher.cancel()
        await watcher.value
        let other = broadcast.subscribe()

        broadcast.publish(.verifying)
        broadcast.publish(.verified(token: "tok"))

        var seen: [VerificationState] = []
        for await state in other {
            seen.append(state)
        }
        XCTAssertEqual(seen, [.awaitingCall, .verifying, .verified(token: "tok")])
    }
}
