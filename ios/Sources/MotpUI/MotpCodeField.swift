#if canImport(SwiftUI) && canImport(Combine)
import Combine
import Motp
import SwiftUI

/// The code entry for a missed-call verification: the known part of the
/// calling number, then a slot for each code digit, `+44 20 7946 0 _ _ _`
/// (or `020 7946 0 _ _ _` with `homeCountry: "GB"`), laid out by the core's
/// `displayCaller` (see `CallerNumberFormat`).
///
/// The user types on the number pad or pastes: the code, or the whole
/// number copied from the call list (see `CodeInput`). When every slot is
/// filled, `onComplete` receives the code; pass it to
/// `MotpVerification.submitCode(_:)`. Set `code` to "" to let the user try
/// again after `MotpError.WrongCode`.
///
///     MotpCodeField(caller: verification.caller, code: $code) { code in
///         Task { try await verification.submitCode(code) }
///     }
///     .focusRequests(calls.arrivals)   // CallArrivalObserver, MotpCallKit
///
/// The number is laid out left to right in every locale, as phone numbers
/// are written even in right-to-left scripts: an Arabic or Hebrew UI does
/// not reverse its groups or move the code slots to the left.
///
/// VoiceOver reads it as one field: "Code from the missed call", the
/// number digit by digit with what is typed, and a hint saying where to
/// find the number.
public struct MotpCodeField: View {
    private let prefix: String
    private let codeLength: Int
    private let homeCountry: String?
    @Binding private var code: String
    private let text: MotpCodeFieldText
    private let autoFocus: Bool
    private let onComplete: ((String) -> Void)?
    private var focusTrigger: AnyPublisher<Void, Never> = Empty().eraseToAnyPublisher()

    // What the (invisible) text field holds; `code` is its cleaned-up copy.
    @State private var entry: String
    @FocusState private var isFocused: Bool
    @AccessibilityFocusState private var isVoiceOverFocused: Bool
    @ScaledMetric(relativeTo: .title2) private var slotWidth: CGFloat = 30
    @ScaledMetric(relativeTo: .title2) private var slotHeight: CGFloat = 44

    /// A field for the verification whose calling number is `caller`.
    ///
    /// - Parameters:
    ///   - homeCountry: the handset's country (`MotpConfig.homeCountry`):
    ///     a number of that country is shown in its national form, as the
    ///     Phone app may show it. Nil: the international form.
    ///   - code: the digits typed so far, at most `caller.codeLength`.
    ///   - text: what VoiceOver says; English unless you pass your own.
    ///   - autoFocus: whether the field takes focus (raising the number
    ///     pad) when it appears.
    ///   - onComplete: called with the code each time every slot is filled.
    public init(
        caller: CallerInfo,
        homeCountry: String? = nil,
        code: Binding<String>,
        text: MotpCodeFieldText = .english,
        autoFocus: Bool = true,
        onComplete: ((String) -> Void)? = nil
    ) {
        self.init(
            prefix: caller.prefix,
            codeLength: Int(caller.codeLength),
            homeCountry: homeCountry,
            code: code,
            text: text,
            autoFocus: autoFocus,
            onComplete: onComplete
        )
    }

    /// A field for a calling number `prefix` (`+442079460`) followed by
    /// `codeLength` code digits, e.g. in bring-your-own-backend mode.
    public init(
        prefix: String,
        codeLength: Int,
        homeCountry: String? = nil,
        code: Binding<String>,
        text: MotpCodeFieldText = .english,
        autoFocus: Bool = true,
        onComplete: ((String) -> Void)? = nil
    ) {
        self.prefix = prefix
        self.codeLength = max(codeLength, 0)
        self.homeCountry = homeCountry
        _code = code
        self.text = text
        self.autoFocus = autoFocus
        self.onComplete = onComplete
        _entry = State(initialValue: code.wrappedValue)
    }

    /// Focuses the field (and VoiceOver) each time `requests` emits, for
    /// example `CallArrivalObserver.arrivals` (MotpCallKit) when a call
    /// comes in or ends, the moment the user looks for the number.
    public func focusRequests<Requests: Publisher>(_ requests: Requests) -> MotpCodeField
        where Requests.Failure == Never
    {
        var copy = self
        copy.focusTrigger = requests.map { _ in }.eraseToAnyPublisher()
        return copy
    }

    public var body: some View {
        slots
            .overlay(input)
            // A phone number reads left to right in every script.
            .environment(\.layoutDirection, .leftToRight)
            .contentShape(Rectangle())
            .onTapGesture { focus() }
            .onChange(of: entry) { proposed in
                let accepted = CodeInput.accept(
                    proposed, previous: code, codeLength: codeLength, prefix: prefix
                )
                if accepted != proposed {
                    entry = accepted
                }
                guard accepted != code else { return }
                code = accepted
                if accepted.count == codeLength {
                    onComplete?(accepted)
                }
            }
            .onChange(of: code) { newCode in
                // The app changed the code, e.g. cleared it after a wrong code.
                if newCode != entry {
                    entry = newCode
                }
            }
            .onReceive(focusTrigger) { _ in
                focus()
                isVoiceOverFocused = true
            }
            .task {
                if autoFocus {
                    focus()
                }
            }
    }

    private func focus() {
        isFocused = true
    }

    /// The text field that takes the input: invisible, laid over the slots,
    /// and the only element VoiceOver sees.
    private var input: some View {
        TextField("", text: $entry)
            .textFieldStyle(.plain)
            .modifier(CodeKeyboard())
            .foregroundColor(.clear)
            .tint(.clear)
            .focused($isFocused)
            .accessibilityFocused($isVoiceOverFocused)
            .accessibilityLabel(Text(text.label))
            .accessibilityValue(Text(text.accessibilityValue(
                prefix: prefix, codeLength: codeLength, typed: code, homeCountry: homeCountry
            )))
            .accessibilityHint(Text(text.hint(codeLength)))
    }

    /// The core's cells in a row: digits and punctuation as they are
    /// (spaces part the groups), a box per code digit.
    private var slots: some View {
        HStack(spacing: 3) {
            ForEach(slotCells) { slot in
                cell(slot)
            }
        }
        .font(.system(.title2, design: .monospaced))
        .accessibilityHidden(true)
    }

    @ViewBuilder
    private func cell(_ slot: Slot) -> some View {
        switch slot.cell {
        case let .text(punctuation):
            Text(punctuation)
                .foregroundColor(.secondary)
        case let .digit(digit):
            Text(String(digit))
                .foregroundColor(.secondary)
        case let .code(_, typed):
            if let typed {
                box(Text(String(typed)).fontWeight(.semibold), highlighted: false)
            } else {
                box(Text(" "), highlighted: slot.isNext && isFocused)
            }
        }
    }

    private func box(_ content: Text, highlighted: Bool) -> some View {
        content
            .frame(width: slotWidth, height: slotHeight)
            .background(
                RoundedRectangle(cornerRadius: 8)
                    .strokeBorder(
                        highlighted ? Color.accentColor : Color.secondary.opacity(0.5),
                        lineWidth: highlighted ? 2 : 1
                    )
            )
    }

    private var slotCells: [Slot] {
        let shown = CallerNumberFormat.display(
            prefix: prefix, codeLength: codeLength, typed: code, homeCountry: homeCountry
        )
        var nextMarked = false
        return shown.cells.enumerated().map { index, cell -> Slot in
            var isNext = false
            if case let .code(_, typed) = cell, typed == nil, !nextMarked {
                isNext = true
                nextMarked = true
            }
            return Slot(id: index, cell: cell, isNext: isNext)
        }
    }

    private struct Slot: Identifiable {
        let id: Int
        let cell: DisplayCell
        /// The first empty slot: where the next digit goes.
        let isNext: Bool
    }
}

/// The number pad, and no content type: `.oneTimeCode` would make the
/// keyboard offer codes from Messages, and no SMS code is ever this call's
/// code (a suggestion of the right length would be submitted at once).
private struct CodeKeyboard: ViewModifier {
    func body(content: Content) -> some View {
        #if os(iOS)
        content
            .keyboardType(.numberPad)
        #else
        content
        #endif
    }
}
#endif
