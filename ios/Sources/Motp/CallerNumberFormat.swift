/// Shows the number that will call the way a phone shows it, with the code
/// digits still to type as slots: prefix `+442079460` and 3 code digits
/// become `+44 20 7946 0___`, and `+44 20 7946 012_` once `12` is typed.
///
/// Grouping follows how each country writes its numbers for the countries
/// in `nationalGroups(countryCode:national:)`; elsewhere digits go in
/// threes. The rules match the Android SDK's `CallerNumberFormat`, so both
/// platforms show a number the same way. Plain Swift, no UI.
public enum CallerNumberFormat {
    /// One character of the shown number.
    public enum Cell: Equatable, Sendable {
        /// Part of the known prefix (`+` or a digit).
        case fixed(Character)
        /// A code digit the user typed.
        case typed(Character)
        /// A code digit still to type.
        case empty
    }

    /// The number as text: `+44 20 7946 0___`.
    ///
    /// - Parameters:
    ///   - prefix: the E.164 prefix from the server (`+442079460`); any
    ///     characters other than digits are ignored.
    ///   - codeLength: how many code digits follow the prefix.
    ///   - typed: the digits typed so far; other characters are ignored,
    ///     digits beyond `codeLength` too.
    ///   - placeholder: what stands for a digit not typed yet.
    public static func format(
        prefix: String,
        codeLength: Int,
        typed: String = "",
        placeholder: Character = "_"
    ) -> String {
        groups(prefix: prefix, codeLength: codeLength, typed: typed)
            .map { group in
                String(group.map { cell -> Character in
                    switch cell {
                    case let .fixed(character), let .typed(character):
                        return character
                    case .empty:
                        return placeholder
                    }
                })
            }
            .joined(separator: " ")
    }

    /// The number as groups of cells, for a view that draws the code
    /// digits as slots. The first group is `+` and the country code.
    public static func groups(prefix: String, codeLength: Int, typed: String = "") -> [[Cell]] {
        let prefixDigits = asciiDigits(prefix)
        let length = max(codeLength, 0)
        let code = Array(asciiDigits(typed).prefix(length))
        var all: [Cell] = prefixDigits.map { Cell.fixed($0) }
        all += code.map { Cell.typed($0) }
        all += Array(repeating: Cell.empty, count: length - code.count)
        guard !all.isEmpty else { return [] }

        let countryCodeCount = min(countryCodeLength(String(prefixDigits)), all.count)
        let countryCode = [Cell.fixed("+")] + all.prefix(countryCodeCount)
        let national = Array(all.dropFirst(countryCodeCount))
        let sizes = nationalGroups(
            countryCode: groupingText(all.prefix(countryCodeCount)),
            national: groupingText(national)
        )
        return [countryCode] + split(national, sizes: sizes)
    }

    /// How many digits the country calling code at the start of `digits`
    /// has (ITU-T E.164 assignments): 1 for `1` and `7`, 2 for the listed
    /// two-digit codes, else 3 (or fewer if `digits` is shorter).
    public static func countryCodeLength(_ digits: String) -> Int {
        if digits.hasPrefix("1") || digits.hasPrefix("7") { return 1 }
        if digits.count >= 2, twoDigitCodes.contains(String(digits.prefix(2))) { return 2 }
        return min(3, digits.count)
    }

    /// Group sizes of the national significant number `national` in the
    /// country with calling code `countryCode`.
    static func nationalGroups(countryCode: String, national: String) -> [Int] {
        switch countryCode {
        case "1":
            return [3, 3, 4]
        case "7":
            return [3, 3, 2, 2]
        case "33":
            return [1, 2, 2, 2, 2]
        case "34":
            return [3, 3, 3]
        case "44":
            let digits = Array(national)
            if national.hasPrefix("2") {
                // London, Southampton, Portsmouth, Coventry, Cardiff, Northern Ireland: 2-4-4.
                return [2, 4, 4]
            }
            if national.hasPrefix("7") {
                // Mobiles: 4-6.
                return [4, 6]
            }
            if national.hasPrefix("1"), digits.count >= 3, digits[1] == "1" || digits[2] == "1" {
                // 11x and 1x1 cities (Leeds 113, Edinburgh 131): 3-3-4.
                return [3, 3, 4]
            }
            if national.hasPrefix("1") {
                // Most other geographic numbers: 4-6.
                return [4, 6]
            }
            return [3, 3, 4]
        case "49":
            return [3, 4, 4, 4]
        case "61":
            return national.hasPrefix("4") ? [3, 3, 3] : [1, 4, 4]
        case "91":
            return [5, 5]
        default:
            return byThrees(national.count)
        }
    }

    /// What VoiceOver should read for the prefix: digits one by one, groups
    /// apart, `+44 20 7946 0` as "+4 4, 2 0, 7 9 4 6, 0".
    public static func spokenPrefix(_ prefix: String, codeLength: Int) -> String {
        groups(prefix: prefix, codeLength: codeLength)
            .map { group in
                group.compactMap { cell -> String? in
                    if case let .fixed(character) = cell { return String(character) }
                    return nil
                }
            }
            .filter { !$0.isEmpty }
            .map { group in
                // "+" reads with the first digit: "+4 4", not "plus, 4, 4".
                group.first == "+" ? "+" + group.dropFirst().joined(separator: " ")
                    : group.joined(separator: " ")
            }
            .joined(separator: ", ")
    }

    private static func byThrees(_ length: Int) -> [Int] {
        if length <= 4 { return [length] }
        var groups = Array(repeating: 3, count: length / 3)
        switch length % 3 {
        case 1:
            groups[groups.count - 1] = 4
        case 2:
            groups.append(2)
        default:
            break
        }
        return groups
    }

    /// Cuts `cells` by `sizes`; what the sizes do not cover forms one last group.
    private static func split(_ cells: [Cell], sizes: [Int]) -> [[Cell]] {
        var groups: [[Cell]] = []
        var start = 0
        for size in sizes where start < cells.count && size > 0 {
            let end = min(cells.count, start + size)
            groups.append(Array(cells[start..<end]))
            start = end
        }
        if start < cells.count {
            groups.append(Array(cells[start...]))
        }
        return groups
    }

    /// The cells as digits for choosing a grouping; a slot reads as "0",
    /// which no grouping rule singles out.
    private static func groupingText<Cells: Sequence>(_ cells: Cells) -> String where Cells.Element == Cell {
        String(cells.map { cell -> Character in
            switch cell {
            case let .fixed(digit), let .typed(digit):
                return digit
            case .empty:
                return "0"
            }
        })
    }

    private static func asciiDigits(_ text: String) -> [Character] {
        text.filter { $0.isASCII && $0.isNumber }.map { $0 }
    }

    private static let twoDigitCodes: Set<String> = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
        "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
        "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ]
}
