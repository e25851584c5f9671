@testable import Motp
import XCTest

final class CodeInputTests: XCTestCase {
    private let prefix = "+442079460"

    private func accept(_ proposed: String, previous: String = "") -> String {
        CodeInput.accept(proposed, previous: previous, codeLength: 3, prefix: prefix)
    }

    func testKeepsTypedDigitsAndDropsEverythingElse() {
        XCTAssertEqual(accept("1"), "1")
        XCTAssertEqual(accept("12", previous: "1"), "12")
        XCTAssertEqual(accept("1 2-3"), "123")
        XCTAssertEqual(accept("a"), "")
        XCTAssertEqual(accept(""), "")
    }

    func testTypingPastAFullCodeIsIgnored() {
        XCTAssertEqual(accept("1234", previous: "123"), "123")
    }

    func testPastedFullNumberGivesItsCode() {
        XCTAssertEqual(accept("+44 20 7946 0123"), "123")
        XCTAssertEqual(accept("020 7946 0123"), "123")
        XCTAssertEqual(accept("0044 (20) 7946-0123"), "123")
        XCTAssertEqual(accept("2079460123"), "123")
        // Pasted after a digit already typed.
        XCTAssertEqual(accept("1+44 20 7946 0456", previous: "1"), "456")
    }

    func testPastedSentenceGivesTheCodeOfTheCallingNumberInIt() {
        XCTAssertEqual(accept("Missed call from +44 20 7946 0123 at 10:42"), "123")
        XCTAssertEqual(accept("011 44 20 7946 0789"), "789")
        // The code alone, with words around it: no more digits than the code.
        XCTAssertEqual(accept("Code: 042"), "042")
    }

    func testAPasteThatDoesNotFitThePrefixChangesNothing() {
        // A one-time code from an unrelated SMS, or any long number: its
        // last digits are not taken (they would auto-submit a wrong code).
        XCTAssertEqual(accept("987654"), "")
        XCTAssertEqual(accept("987654", previous: "12"), "12")
        XCTAssertEqual(accept("Your code is 987, ref 45678"), "")
        // Another number ending in the code's length of digits.
        XCTAssertEqual(accept("+44 20 7946 1123"), "")
        XCTAssertEqual(accept("+33 20 7946 0123"), "")
        XCTAssertEqual(accept("99 20 7946 0123"), "")
    }

    func testDigitsOfAnyScriptCount() {
        XCTAssertEqual(accept("١٢٣"), "123") // Arabic-Indic
        XCTAssertEqual(accept("１２３"), "123") // full width
        XCTAssertEqual(accept("²½"), "")
    }

    func testCodeInPastedTextIsNilWhenThereIsNone() {
        XCTAssertNil(CodeInput.code(inPasted: "no digits here", codeLength: 3, prefix: prefix))
        XCTAssertNil(CodeInput.code(inPasted: "12 and 34", codeLength: 3, prefix: prefix))
        XCTAssertNil(CodeInput.code(inPasted: "Your code is 987", codeLength: 3, prefix: prefix))
        XCTAssertNil(CodeInput.code(inPasted: "123", codeLength: 0, prefix: prefix))
    }

    func testNationalPartOfThePrefix() {
        XCTAssertEqual(CodeInput.nationalPart(of: "+442079460", codeLength: 3), "2079460")
        XCTAssertEqual(CodeInput.nationalPart(of: "+12015550", codeLength: 3), "2015550")
        // The core cannot read it (no "+"): every digit must match.
        XCTAssertEqual(CodeInput.nationalPart(of: "442079460", codeLength: 3), "442079460")
    }

    func testZeroLengthCodeAcceptsNothing() {
        XCTAssertEqual(CodeInput.accept("123", previous: "", codeLength: 0, prefix: prefix), "")
    }
}
