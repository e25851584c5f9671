import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Motp
import XCTest

/// Whole verifications through the real Rust library against a running
/// `motp serve` (log telephony with the development endpoint that tells
/// which number called; scripts/test.d/46-swift.sh starts it), as an iPhone
/// does them: the call cannot be read, so the code is typed.
///
/// Skipped unless MOTP_SERVER_URL, MOTP_PUBLISHABLE_KEY and MOTP_SECRET_KEY
/// are set; with MOTP_REQUIRE_SERVER=1 (46-swift.sh) they fail instead.
final class EndToEndTests: XCTestCase {
    private func server() throws -> TestServer {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["MOTP_SERVER_URL"], !url.isEmpty,
              let publishable = environment["MOTP_PUBLISHABLE_KEY"], !publishable.isEmpty,
              let secret = environment["MOTP_SECRET_KEY"], !secret.isEmpty
        else {
            if environment["MOTP_REQUIRE_SERVER"] == "1" {
                XCTFail("MOTP_REQUIRE_SERVER=1 but MOTP_SERVER_URL, MOTP_PUBLISHABLE_KEY or MOTP_SECRET_KEY is missing")
            }
            throw XCTSkip("no server: run scripts/test.d/46-swift.sh")
        }
        return TestServer(url: url, publishableKey: publishable, secretKey: secret)
    }

    private func verifier(_ server: TestServer) throws -> MotpVerifier {
        try MotpVerifier(config: MotpConfig(
            serverUrl: server.url,
            publishableKey: server.publishableKey,
            homeCountry: "GB",
            requestTimeout: 5,
            callTimeout: nil
        ))
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

    func testTheTypedCodeOfTheServersCallIsApprovedAndTheTokenIntrospects() async throws {
        let server = try server()
        let phoneNumber = TestServer.freshPhoneNumber()
        let verification = try await verifier(server).start(phoneNumber: phoneNumber)
        let seen = collect(verification.states)

        // iOS cannot read the call: the core asks for the code at once.
        XCTAssertEqual(verification.state, .manualEntry(reason: .callsUnreadable))
        XCTAssertEqual(verification.caller, CallerInfo(prefix: "+44207946", codeLength: 4))

        // The server's call, as the Phone app's Recents would show it.
        let caller = try await server.lastCaller(of: verification.id)
        let codeLength = Int(verification.caller.codeLength)
        XCTAssertTrue(caller.hasPrefix(verification.caller.prefix), caller)

        // The field shows the known part; the user types the rest, digit by digit.
        var code = ""
        for digit in caller.suffix(codeLength) {
            code = CodeInput.accept(code + String(digit), previous: code, codeLength: codeLength, prefix: verification.caller.prefix)
        }
        XCTAssertEqual(code, String(caller.suffix(codeLength)))
        let shown = CallerNumberFormat.format(
            prefix: verification.caller.prefix, codeLength: codeLength, typed: code
        )
        XCTAssertEqual(CodeInput.decimalDigits(shown), CodeInput.decimalDigits(caller), shown)

        let token = try await verification.submitCode(code)

        XCTAssertFalse(token.isEmpty)
        let states = await seen.value
        XCTAssertEqual(
            states,
            [.manualEntry(reason: .callsUnreadable), .verifying, .verified(token: token)]
        )
        let awaited = try await verification.token
        XCTAssertEqual(awaited, token)

        // The app's backend checks the token with its secret key.
        let introspection = try await server.introspect(token)
        XCTAssertEqual(introspection["active"] as? Bool, true)
        XCTAssertEqual(introspection["phone_number"] as? String, phoneNumber)
        XCTAssertEqual(introspection["verification_id"] as? String, verification.id)
    }

    func testAWrongCodeCountsAndTheNumberPastedFromRecentsVerifies() async throws {
        let server = try server()
        let verification = try await verifier(server).start(phoneNumber: TestServer.freshPhoneNumber())
        let caller = try await server.lastCaller(of: verification.id)
        let codeLength = Int(verification.caller.codeLength)
        let right = String(caller.suffix(codeLength))
        let wrong = String(right.map { $0 == "9" ? "0" : Character(String($0.wholeNumberValue! + 1)) })

        do {
            try await verification.submitCode(wrong)
            XCTFail("a wrong code was approved")
        } catch let error as MotpError {
            XCTAssertEqual(error, .WrongCode(attemptsLeft: 2))
        }
        XCTAssertEqual(verification.info.attemptsLeft, 2)

        // The whole number, copied in its national form, pasted into the field.
        let pasted = "020 7946 " + right
        let code = CodeInput.accept(pasted, previous: "", codeLength: codeLength, prefix: verification.caller.prefix)
        XCTAssertEqual(code, right)
        // A code from an unrelated SMS is refused, and nothing is sent.
        XCTAssertEqual(
            CodeInput.accept("Your code is 48213570", previous: "", codeLength: codeLength, prefix: verification.caller.prefix),
            ""
        )

        let token = try await verification.submitCode(code)

        XCTAssertEqual(verification.state, .verified(token: token))
        let introspection = try await server.introspect(token)
        XCTAssertEqual(introspection["active"] as? Bool, true)
    }

    func testCancelIsExplicitAndReachesTheServer() async throws {
        let server = try server()
        let verification = try await verifier(server).start(phoneNumber: TestServer.freshPhoneNumber())

        // Watching and giving up watching changes nothing.
        for await _ in verification.states { break }
        XCTAssertEqual(verification.state, .manualEntry(reason: .callsUnreadable))

        let seen = collect(verification.states)
        verification.cancel()
        let states = await seen.value

        XCTAssertEqual(states.last, .canceled)
        // The server hears of it just after the state changed.
        var status = try await server.status(of: verification.id)
        let deadline = Date().addingTimeInterval(5)
        while status != "canceled", Date() < deadline {
            try await Task.sleep(nanoseconds: 20_000_000)
            status = try await server.status(of: verification.id)
        }
        XCTAssertEqual(status, "canceled")
    }

    func testTheCoreLaysOutTheNumber() {
        // Through the real library: the core's displayCaller.
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3), "+44 20 7946 0___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, homeCountry: "GB"), "020 7946 0___")
    }
}

/// The server 46-swift.sh started, and the calls an app's backend (or the
/// development endpoint) makes to it.
struct TestServer: Sendable {
    let url: String
    let publishableKey: String
    let secretKey: String

    /// A fresh valid UK mobile number (+44 7400 123xxx) for each
    /// verification, so per-number rate limits do not carry over.
    static func freshPhoneNumber() -> String {
        "+447400123" + String(format: "%03d", Int.random(in: 0..<1000))
    }

    /// The number that called for `id`, from the development endpoint: what
    /// the user reads in Recents. The call is recorded when the telephony
    /// task places it, which may be just after the create request returned.
    func lastCaller(of id: String) async throws -> String {
        let deadline = Date().addingTimeInterval(5)
        while true {
            let (status, body) = try await request("GET", "/v1/dev/calls/\(id)", key: secretKey)
            if status == 200, let caller = body["caller"] as? String {
                return caller
            }
            guard status == 404, Date() < deadline else {
                throw TestServerError("dev calls: HTTP \(status): \(body)")
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// `POST /v1/tokens/introspect` with the secret key.
    func introspect(_ token: String) async throws -> [String: Any] {
        let (status, body) = try await request("POST", "/v1/tokens/introspect", key: secretKey, json: ["token": token])
        guard status == 200 else { throw TestServerError("introspect: HTTP \(status): \(body)") }
        return body
    }

    /// The verification's status as the server has it.
    func status(of id: String) async throws -> String? {
        let (status, body) = try await request("GET", "/v1/verifications/\(id)", key: publishableKey)
        guard status == 200 else { throw TestServerError("get: HTTP \(status): \(body)") }
        return body["status"] as? String
    }

    private func request(
        _ method: String, _ path: String, key: String, json: [String: String]? = nil
    ) async throws -> (Int, [String: Any]) {
        guard let endpoint = URL(string: url + path) else { throw TestServerError("bad URL \(url + path)") }
        var request = URLRequest(url: endpoint, timeoutInterval: 5)
        request.httpMethod = method
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
        }
        let (status, data) = try await Self.send(request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        return (status, object ?? [:])
    }

    /// URLSession's completion-handler API: the one swift-corelibs-foundation
    /// has on every Linux toolchain.
    private static func send(_ request: URLRequest) async throws -> (Int, Data) {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    continuation.resume(returning: (status, data ?? Data()))
                }
            }.resume()
        }
    }
}

struct TestServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
