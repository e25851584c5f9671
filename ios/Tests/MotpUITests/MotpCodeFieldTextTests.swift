import Motp
@testable import MotpUI
import XCTest

final class MotpCodeFieldTextTests: XCTestCase {
    private let text = MotpCodeFieldText.english

    func testValueReadsTheNumberAndWhatIsLeftToType() {
        XCTAssertEqual(
            text.accessibilityValue(prefix: "+442079460", codeLength: 3, typed: ""),
            "Number +4 4, 2 0, 7 9 4 6, 0, then 3 digits to type"
        )
        XCTAssertEqual(
            text.accessibilityValue(prefix: "+442079460", codeLength: 3, typed: "12"),
            "Number +4 4, 2 0, 7 9 4 6, 0, then 1 2, 1 digit more to type"
        )
        XCTAssertEqual(
            text.accessibilityValue(prefix: "+442079460", codeLength: 3, typed: "1234"),
            "Number +4 4, 2 0, 7 9 4 6, 0, then 1 2 3. Complete"
        )
        XCTAssertEqual(
            text.accessibilityValue(prefix: "+442079460", codeLength: 3, typed: "", homeCountry: "GB"),
            "Number 0 2 0, 7 9 4 6, 0, then 3 digits to type"
        )
    }

    func testHintSaysHowManyDigitsAndWhereToFindThem() {
        XCTAssertEqual(
            text.hint(3),
            "Type the last 3 digits of the number that just called you. It is in Recents in the Phone app."
        )
        XCTAssertTrue(text.hint(1).hasPrefix("Type the last 1 digit of"))
    }

    func testAppsCanSupplyTheirOwnWords() {
        let french = MotpCodeFieldText(
            label: "Code de l'appel manqué",
            hint: { "Tapez les \($0) derniers chiffres" },
            value: { prefix, typed, remaining in "\(prefix) | \(typed) | \(remaining)" }
        )
        XCTAssertEqual(french.accessibilityValue(prefix: "+33199", codeLength: 4, typed: "1"), "+3 3, 1 9 9 | 1 | 3")
    }
}
