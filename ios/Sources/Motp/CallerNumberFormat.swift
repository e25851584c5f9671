import MotpFFI

/// Shows the number that will call the way a phone shows it, with the code
/// digits still to type as slots: prefix `+442079460` and 3 code digits
/// become `+44 20 7946 0___`, `+44 20 7946 012_` once `12` is typed, and
/// `020 7946 0___` on a phone whose home country is `GB`.
///
/// A thin adapter over the core's `displayCaller(caller:typed:form:)`,
/// which groups every country's numbers the way libphonenumber does (the
/// Android SDK and the server's demo call the same function, so a number
/// looks the same everywhere). No country rules live here.
public enum CallerNumberFormat {
    /// The number as the core lays it out: digits, punctuation and one
    /// `.code` slot per code digit, in reading order.
    ///
    /// - Parameters:
    ///   - prefix: the E.164 prefix from the server (`+442079460`);
    ///     spaces, dashes, dots, brackets and slashes are ignored.
    ///   - codeLength: how many code digits follow the prefix.
    ///   - typed: what the user typed so far; only its ASCII digits count,
    ///     and only the first `codeLength` of them.
    ///   - homeCountry: the handset's country (ISO 3166 alpha-2, `"GB"`):
    ///     a number of that country is shown in its national form. Nil:
    ///     the international form.
    ///
    /// A prefix the core cannot read (no `+`, unknown calling code,
    /// `codeLength` of 0…) is shown ungrouped: `+`, its digits, the slots.
    public static func display(
        prefix: String,
        codeLength: Int,
        typed: String = "",
        homeCountry: String? = nil
    ) -> CallerDisplay {
        let form = homeCountry.map { DisplayForm.national(homeCountry: $0) } ?? .international
        if let shown = core(prefix: prefix, codeLength: codeLength, typed: typed, form: form) {
            return shown
        }
        return ungrouped(prefix: prefix, codeLength: codeLength, typed: typed)
    }

    /// The number as text: `+44 20 7946 0___`. See
    /// `display(prefix:codeLength:typed:homeCountry:)`; `placeholder`
    /// stands for a code digit not typed yet.
    public static func format(
        prefix: String,
        codeLength: Int,
        typed: String = "",
        placeholder: Character = "_",
        homeCountry: String? = nil
    ) -> String {
        text(of: display(prefix: prefix, codeLength: codeLength, typed: typed, homeCountry: homeCountry),
             placeholder: placeholder)
    }

    /// `shown` as text: text cells as they are, digits, typed code digits,
    /// `placeholder` for the others.
    public static func text(of shown: CallerDisplay, placeholder: Character = "_") -> String {
        var out = ""
        for cell in shown.cells {
            switch cell {
            case let .text(text):
                out += text
            case let .digit(digit):
                out += String(digit)
            case let .code(_, typed):
                out += typed.map { String($0) } ?? String(placeholder)
            }
        }
        return out
    }

    /// What VoiceOver should read for the known part of the number: digits
    /// one by one, groups apart, `+44 20 7946 0` as "+4 4, 2 0, 7 9 4 6, 0".
    /// Any punctuation separates groups; the `+` reads with the first digit.
    public static func spokenPrefix(_ prefix: String, codeLength: Int, homeCountry: String? = nil) -> String {
        let shown = display(prefix: prefix, codeLength: codeLength, homeCountry: homeCountry)
        var spoken: [String] = []
        var digits: [String] = []
        var plus = false
        func endGroup() {
            guard !digits.isEmpty else { return }
            spoken.append((plus ? "+" : "") + digits.joined(separator: " "))
            digits = []
            plus = false
        }
        for cell in shown.cells {
            switch cell {
            case let .digit(digit):
                digits.append(String(digit))
            case let .text(text):
                endGroup()
                plus = plus || text.contains("+")
            case .code:
                endGroup()
            }
        }
        endGroup()
        return spoken.joined(separator: ", ")
    }

    /// The country calling code of `prefix` (`44` for `+442079460`), as the
    /// core reads it, or nil when it cannot read the prefix.
    static func callingCode(prefix: String, codeLength: Int) -> String? {
        guard let shown = core(prefix: prefix, codeLength: codeLength, typed: "", form: .international)
        else { return nil }
        // The international form is "+", the calling code, then a space.
        var code = ""
        for cell in shown.cells.dropFirst() {
            guard case let .digit(digit) = cell else { break }
            code += String(digit)
        }
        return code.isEmpty ? nil : code
    }

    private static func core(prefix: String, codeLength: Int, typed: String, form: DisplayForm) -> CallerDisplay? {
        guard let length = UInt8(exactly: codeLength) else { return nil }
        return try? MotpFFI.displayCaller(caller: CallerInfo(prefix: prefix, codeLength: length), typed: typed, form: form)
    }

    private static func ungrouped(prefix: String, codeLength: Int, typed: String) -> CallerDisplay {
        let known = prefix.compactMap { $0.isASCII ? $0.wholeNumberValue : nil }
        let code = typed.compactMap { $0.isASCII ? $0.wholeNumberValue : nil }
        let length = min(max(codeLength, 0), Int(UInt8.max))
        var cells: [DisplayCell] = known.isEmpty ? [] : [.text(text: "+")]
        cells += known.map { DisplayCell.digit(digit: UInt8($0)) }
        cells += (0..<length).map { index -> DisplayCell in
            .code(index: UInt8(index), typed: index < code.count ? UInt8(code[index]) : nil)
        }
        return CallerDisplay(cells: cells, national: false)
    }
}
