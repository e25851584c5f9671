// The Swift face of mOTP: phone-number verification by missed call.
//
// iOS lets no app read a caller's number, so on iOS the user types the last
// digits of the number that just called (the code) into a field that shows
// the known part of that number (`MotpCodeField` in the MotpUI product).
// No permission is needed.
//
//     let verifier = try MotpVerifier(config: MotpConfig(
//         serverUrl: "https://verify.example.com",
//         publishableKey: "pk_live_…",
//         homeCountry: HomeCountry.fromLocale() ?? "GB"))
//     let verification = try await verifier.start(phoneNumber: "+447700900123")
//     for await state in verification.states { … }
//
// Re-exports: only the generated types and functions an app uses, by name,
// below. The generated module itself (its FfiConverter helpers and
// `…Impl` classes) is not re-exported, so `import Motp` adds nothing that
// can clash with another module's names (`os.Logger`, say).

import MotpFFI

// MARK: Configuration and results

/// The server, the app's publishable key and the handset's home country.
public typealias MotpConfig = MotpFFI.MotpConfig
/// Where a verification is: `.manualEntry` on iOS until the code is typed,
/// then `.verifying`, and one of the final states.
public typealias VerificationState = MotpFFI.VerificationState
/// Why the verification waits for a typed code.
public typealias ManualEntryReason = MotpFFI.ManualEntryReason
/// Everything that can go wrong, with what the app needs to react.
public typealias MotpError = MotpFFI.MotpError
/// The calling number's known part (`prefix`) and the code's length.
public typealias CallerInfo = MotpFFI.CallerInfo
/// Expiry, when a resend is allowed, attempts left.
public typealias VerificationInfo = MotpFFI.VerificationInfo
/// What the server reports about the call (`.ringing`, `.delivered`,
/// `.failed(reason:)`), from `MotpVerification.nextCallEvent()`.
public typealias CallEvent = MotpFFI.CallEvent

// MARK: The number as the core lays it out

/// The calling number as cells to draw (see `CallerNumberFormat`).
public typealias CallerDisplay = MotpFFI.CallerDisplay
/// A digit, punctuation or a code slot of a `CallerDisplay`.
public typealias DisplayCell = MotpFFI.DisplayCell
/// International (`+44 20 7946 0___`) or national as seen from a country.
public typealias DisplayForm = MotpFFI.DisplayForm

/// The number the verification call comes from, laid out by the core
/// (libphonenumber's grouping): see `CallerNumberFormat` for the usual uses.
/// Throws `MotpError.InvalidInput` for a malformed `caller`.
public func displayCaller(caller: CallerInfo, typed: String, form: DisplayForm) throws -> CallerDisplay {
    try MotpFFI.displayCaller(caller: caller, typed: typed, form: form)
}

// MARK: Logging

/// A sink for the SDK's log lines (see `setLogger(logger:level:)`).
public typealias MotpLogger = MotpFFI.MotpLogger
/// How much the SDK logs.
public typealias LogLevel = MotpFFI.LogLevel

/// Sends the SDK's log lines at `level` and above to `logger`, besides the
/// platform log. Pass nil to remove a logger set before.
public func setLogger(logger: (any MotpLogger)?, level: LogLevel) {
    MotpFFI.setLogger(logger: logger, level: level)
}

/// Changes how much the SDK logs, at any time. The default is `.warn`.
public func setLogLevel(level: LogLevel) {
    MotpFFI.setLogLevel(level: level)
}

// MARK: Bring your own backend

/// Reads the code out of caller IDs when your own backend places the call.
public typealias MissedCallMatcher = MotpFFI.MissedCallMatcher
/// What `MissedCallMatcher.matchNumber(number:)` found.
public typealias CallerIdMatch = MotpFFI.CallerIdMatch
/// Why a number is not the verification call.
public typealias MatchRejection = MotpFFI.MatchRejection
/// A `MissedCallMatcher` that also knows the verification's time window.
public typealias OfflineVerification = MotpFFI.OfflineVerification

// MARK: The client surface, for fakes in an app's own tests

/// What `MotpVerifier(client:)` takes: `MotpClient`, or a fake.
public typealias MotpClientProtocol = MotpFFI.MotpClientProtocol
/// The core's client; `MotpVerifier(config:)` makes one.
public typealias MotpClient = MotpFFI.MotpClient
/// The core's verification object (open: subclass it in a fake).
public typealias Verification = MotpFFI.Verification
/// What a `Verification` does.
public typealias VerificationProtocol = MotpFFI.VerificationProtocol
/// Hears every state change of a verification.
public typealias VerificationListener = MotpFFI.VerificationListener
/// What a device can see of incoming calls (`.hidden` on iOS).
public typealias CallVisibility = MotpFFI.CallVisibility
/// The outcome of reporting an incoming call (Android).
public typealias CallMatch = MotpFFI.CallMatch
/// Why a reported call did not count.
public typealias IgnoredCall = MotpFFI.IgnoredCall
