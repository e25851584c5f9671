/// What the code field keeps of what the user types or pastes. Plain
/// Swift, no UI.
///
/// The code is the last `codeLength` digits of the number that called, so
/// a user may type or paste the code itself, or paste the whole number
/// copied from the call list (`+44 20 7946 0123`, `020 7946 0123`,
/// `0044 20 7946 0123`), alone or in a sentence. Digits from any script
/// count (`١٢٣` is `123`).
///
/// A paste with more digits than the code fills the code only when it
/// holds the calling number itself: the known prefix followed by
/// `codeLength` digits. Anything else (a code from an unrelated SMS, a
/// long reference number) is refused and the field keeps what it had, so
/// a stray paste can never auto-submit a wrong code.
public enum CodeInput {
    /// The field's new content after an edit that turned `previous` into
    /// `proposed`: at most `codeLength` ASCII digits.
    ///
    /// Up to `codeLength` digits are kept as they are (typing, deleting,
    /// pasting the code alone). Typing past a full code is ignored (the
    /// code does not scroll). More digits are taken as a paste: the code
    /// when the text holds the calling number (see
    /// `code(inPasted:codeLength:prefix:)`), otherwise `previous` unchanged.
    public static func accept(
        _ proposed: String,
        previous: String,
        codeLength: Int,
        prefix: String
    ) -> String {
        guard codeLength > 0 else { return "" }
        let digits = decimalDigits(proposed)
        if digits.count <= codeLength {
            return digits
        }
        let kept = String(decimalDigits(previous).prefix(codeLength))
        // The paste may sit before or after what the field held.
        var pasted = [proposed]
        if !previous.isEmpty, proposed.hasPrefix(previous) {
            pasted.append(String(proposed.dropFirst(previous.count)))
        }
        if !previous.isEmpty, proposed.hasSuffix(previous) {
            pasted.append(String(proposed.dropLast(previous.count)))
        }
        for text in pasted {
            if let code = code(inPasted: text, codeLength: codeLength, prefix: prefix) {
                return code
            }
        }
        return kept
    }

    /// The code in pasted text: the last `codeLength` digits of a number in
    /// it that is the calling number, or nil when there is none.
    ///
    /// Looks at each number in the text (digits with the separators phones
    /// use: space, `-`, `.`, `(`, `)`, `/`, `+`), last first. A number is
    /// the calling number when it is the prefix's national digits followed
    /// by `codeLength` digits, written the ways a phone shows it: alone,
    /// after a trunk digit (`020 7946 0123`), after the country calling
    /// code (`+44 20 7946 0123`), or after `00` / `011` and the calling
    /// code. A bare run of `codeLength` digits inside longer text is not
    /// taken: nothing ties it to this call.
    public static func code(inPasted text: String, codeLength: Int, prefix: String) -> String? {
        guard codeLength > 0 else { return nil }
        let national = nationalPart(of: prefix, codeLength: codeLength)
        guard !national.isEmpty else { return nil }
        let callingCode = CallerNumberFormat.callingCode(prefix: prefix, codeLength: codeLength)
        var leads: Set<String> = [""]
        if let callingCode {
            leads.formUnion([callingCode, "00" + callingCode, "011" + callingCode])
            leads.formUnion((0...9).map { String($0) })
        }
        for number in numbersIn(text).reversed() where number.count > codeLength {
            let known = number.dropLast(codeLength)
            guard known.hasSuffix(national) else { continue }
            if leads.contains(String(known.dropLast(national.count))) {
                return String(number.suffix(codeLength))
            }
        }
        return nil
    }

    /// Every decimal digit of `text` as ASCII, in order; other characters dropped.
    public static func decimalDigits(_ text: String) -> String {
        String(text.compactMap(asciiDigit))
    }

    /// The prefix's digits after its country calling code: `2079460` for
    /// `+442079460`. Every written form of the full number ends with these
    /// followed by the code. The core tells the calling code; all the
    /// digits when it cannot read the prefix.
    static func nationalPart(of prefix: String, codeLength: Int) -> String {
        let digits = decimalDigits(prefix)
        guard let callingCode = CallerNumberFormat.callingCode(prefix: prefix, codeLength: codeLength),
              digits.hasPrefix(callingCode)
        else { return digits }
        return String(digits.dropFirst(callingCode.count))
    }

    /// The digits of each number-like run in `text`.
    static func numbersIn(_ text: String) -> [String] {
        var numbers: [String] = []
        var current = ""
        for character in text {
            if let digit = asciiDigit(character) {
                current.append(digit)
            } else if numberSeparators.contains(character) {
                continue
            } else if !current.isEmpty {
                numbers.append(current)
                current = ""
            }
        }
        if !current.isEmpty { numbers.append(current) }
        return numbers
    }

    private static let numberSeparators: Set<Character> = [
        " ", "\u{00A0}", "\u{202F}", "-", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}",
        ".", "(", ")", "/", "+",
    ]

    /// The ASCII digit for a decimal digit of any script (Unicode category
    /// Nd), nil for anything else, including "²" and "½".
    private static func asciiDigit(_ character: Character) -> Character? {
        guard character.unicodeScalars.count == 1,
              let scalar = character.unicodeScalars.first,
              scalar.properties.numericType == .decimal,
              let value = character.wholeNumberValue,
              (0...9).contains(value)
        else { return nil }
        return Character(String(value))
    }
}
