// The Swift face of mOTP: phone-number verification by missed call.
//
// iOS lets no app read a caller's number, so on iOS the user types the last
// digits of the number that just called (the code) into `MotpCodeField`,
// which shows the known part of that number. No permission is needed.
//
//     let verifier = try MotpVerifier(config: MotpConfig(
//         serverUrl: "https://verify.example.com",
//         publishableKey: "pk_live_…",
//         homeCountry: HomeCountry.fromLocale() ?? "GB"))
//     let verification = try await verifier.start(phoneNumber: "+447700900123")
//     for await state in verification.states { … }
//
// The generated types (`MotpConfig`, `VerificationState`, `MotpError`, …)
// come from the MotpFFI module and are re-exported: `import Motp` is enough.

@_exported import MotpFFI
