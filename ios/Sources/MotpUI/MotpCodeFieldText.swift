import Motp

/// The words `MotpCodeField` gives VoiceOver. English by default; give
/// your own for the languages your app supports.
public struct MotpCodeFieldText: Sendable {
    /// What the field is: "Code from the missed call".
    public var label: String
    /// What to do, given the number of digits to type.
    public var hint: @Sendable (_ codeLength: Int) -> String
    /// The field's content: the prefix as `CallerNumberFormat.spokenPrefix`
    /// reads it, the digits typed so far, and how many are left to type.
    public var value: @Sendable (_ spokenPrefix: String, _ typed: String, _ remaining: Int) -> String

    public init(
        label: String,
        hint: @escaping @Sendable (_ codeLength: Int) -> String,
        value: @escaping @Sendable (_ spokenPrefix: String, _ typed: String, _ remaining: Int) -> String
    ) {
        self.label = label
        self.hint = hint
        self.value = value
    }

    public static let english = MotpCodeFieldText(
        label: "Code from the missed call",
        hint: { codeLength in
            "Type the last \(MotpCodeFieldText.digits(codeLength)) of the number that just called you. "
                + "It is in Recents in the Phone app."
        },
        value: { spokenPrefix, typed, remaining in
            let spokenTyped = typed.map(String.init).joined(separator: " ")
            if typed.isEmpty {
                return "Number \(spokenPrefix), then \(MotpCodeFieldText.digits(remaining)) to type"
            }
            if remaining == 0 {
                return "Number \(spokenPrefix), then \(spokenTyped). Complete"
            }
            return "Number \(spokenPrefix), then \(spokenTyped), \(MotpCodeFieldText.digits(remaining)) more to type"
        }
    )

    /// What VoiceOver reads as the value of a field showing `prefix` with
    /// `typed` filled into `codeLength` slots, in the national form when
    /// the number is from `homeCountry`.
    public func accessibilityValue(
        prefix: String,
        codeLength: Int,
        typed: String,
        homeCountry: String? = nil
    ) -> String {
        let code = String(CodeInput.decimalDigits(typed).prefix(max(codeLength, 0)))
        return value(
            CallerNumberFormat.spokenPrefix(prefix, codeLength: codeLength, homeCountry: homeCountry),
            code,
            max(codeLength - code.count, 0)
        )
    }

    private static func digits(_ count: Int) -> String {
        count == 1 ? "1 digit" : "\(count) digits"
    }
}
