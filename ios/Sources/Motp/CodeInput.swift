/// What the code field keeps of what the user types or pastes. Plain
/// Swift, no UI.
///
/// The code is the last `codeLength` digits of the number that called, so
/// a user may paste the code itself, the whole number copied from the call
/// list (`+44 20 7946 0123`, `020 7946 0123`, `0044 20 7946 0123`), or a
/// sentence containing either. Digits from any script count (`١٢٣` is
/// `123`).
public enum CodeInput {
    /// The field's new content after an edit that turned `previous` into
    /// `proposed`: at most `codeLength` ASCII digits.
    ///
    /// Typing past a full code is ignored (the code does not scroll);
    /// anything longer is taken as a paste, see `code(inPasted:codeLength:prefix:)`,
    /// and failing that its last `codeLength` digits are kept.
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
        let kept = decimalDigits(previous)
        if kept.count == codeLength, digits.count == codeLength + 1, digits.hasPrefix(kept) {
            return kept
        }
        return code(inPasted: proposed, codeLength: codeLength, prefix: prefix)
            ?? String(digits.suffix(codeLength))
    }

    /// The code in pasted text, or nil when there is no clear one.
    ///
    /// Looks at each number in the text (digits with the separators phones
    /// use: space, `-`, `.`, `(`, `)`, `/`, `+`), last first:
    /// 1. a full number with the caller's prefix, in any form that ends in
    ///    the prefix's national digits and then `codeLength` digits: its
    ///    last `codeLength` digits;
    /// 2. otherwise a number of exactly `codeLength` digits.
    public static func code(inPasted text: String, codeLength: Int, prefix: String) -> String? {
        guard codeLength > 0 else { return nil }
        let numbers = numbersIn(text)
        let national = nationalPart(of: prefix, codeLength: codeLength)
        for number in numbers.reversed() where number.count > codeLength {
            if number.dropLast(codeLength).hasSuffix(national) {
                return String(number.suffix(codeLength))
            }
        }
        return numbers.last { $0.count == codeLength }
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
