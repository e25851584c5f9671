package dev.motp.android

import android.content.Context
import android.os.Build
import android.text.Editable
import android.text.InputFilter
import android.text.InputType
import android.text.TextWatcher
import android.util.AttributeSet
import android.util.TypedValue
import android.view.Gravity
import android.view.inputmethod.InputMethodManager
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import dev.motp.core.CallerInfo

/**
 * A ready field for typing the code by hand: it shows the number that calls
 * with the missing digits as placeholders (`+44 20 7946 0___`, or
 * `020 7946 0___` on a UK phone, as its call list shows it) and fills them
 * in as the user types. When all digits are there, [onCodeComplete]
 * receives the code; pass it to `MotpVerification.submitCode`.
 *
 * Texts are plain properties so an app can translate them; the layout is
 * built in code so the view works without resources.
 */
public class CodeEntryView @JvmOverloads constructor(
    context: Context,
    attrs: AttributeSet? = null,
) : LinearLayout(context, attrs) {

    /** Explains what to type; set your own (translated) text. */
    public val hintView: TextView = TextView(context)

    /** The calling number with placeholders, e.g. `+44 20 7946 0___` or `020 7946 0___`. */
    public val numberView: TextView = TextView(context)

    /** Where the digits are typed. */
    public val codeInput: EditText = EditText(context)

    /** Receives the code once [codeLength] digits are typed. */
    public var onCodeComplete: ((String) -> Unit)? = null

    private var prefix: String = ""

    /**
     * The handset's home country (ISO 3166 alpha-2): a caller of that
     * country is shown in national form, the way the phone's call list shows
     * it. Detected from the SIM, network or locale ([HomeCountry]); set null
     * to always show the international form.
     */
    public var homeCountry: String? = HomeCountry.detect(context)
        set(value) {
            field = value
            render()
        }

    /** Digits to type; set with [setCaller]. */
    public var codeLength: Int = 0
        private set

    /** The digits typed so far. */
    public val code: String get() = codeInput.text?.toString().orEmpty()

    init {
        orientation = VERTICAL
        numberView.setTextSize(TypedValue.COMPLEX_UNIT_SP, 24f)
        numberView.gravity = Gravity.CENTER_HORIZONTAL
        numberView.typeface = android.graphics.Typeface.MONOSPACE
        codeInput.inputType = InputType.TYPE_CLASS_NUMBER
        codeInput.isSingleLine = true
        codeInput.gravity = Gravity.CENTER_HORIZONTAL
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            codeInput.setAutofillHints(AUTOFILL_HINT_SMS_OTP_CODE)
        }
        hintView.text = "The code is the last digits of the number that calls you."
        addView(hintView, LayoutParams(LayoutParams.MATCH_PARENT, LayoutParams.WRAP_CONTENT))
        addView(numberView, LayoutParams(LayoutParams.MATCH_PARENT, LayoutParams.WRAP_CONTENT))
        addView(codeInput, LayoutParams(LayoutParams.MATCH_PARENT, LayoutParams.WRAP_CONTENT))
        codeInput.addTextChangedListener(object : TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) = Unit
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) = Unit
            override fun afterTextChanged(s: Editable?) {
                render()
                val typed = s?.toString().orEmpty()
                if (codeLength > 0 && typed.length == codeLength) onCodeComplete?.invoke(typed)
            }
        })
    }

    /** Shows the caller prefix (`+442079460`) and expects [codeLength] digits. */
    public fun setCaller(prefix: String, codeLength: Int) {
        this.prefix = prefix
        this.codeLength = codeLength
        codeInput.filters = arrayOf(InputFilter.LengthFilter(codeLength))
        codeInput.text?.clear()
        render()
    }

    /** Shows the pattern of `MotpVerification.caller()`. */
    public fun setCaller(caller: CallerInfo) {
        setCaller(caller.prefix, caller.codeLength.toInt())
    }

    /** Shows [code] as if typed (e.g. the code the SDK read from the call). */
    public fun setCode(code: String) {
        codeInput.setText(code.filter { it in '0'..'9' }.take(codeLength))
    }

    /** Focuses the field and opens the keyboard: the call is ringing now. */
    public fun focusCode() {
        codeInput.requestFocus()
        context.getSystemService(InputMethodManager::class.java)
            ?.showSoftInput(codeInput, InputMethodManager.SHOW_IMPLICIT)
    }

    /** Shows [message] (e.g. "Wrong code, 2 attempts left"), or clears it with null. */
    public fun setError(message: CharSequence?) {
        codeInput.error = message
    }

    private fun render() {
        // Before setCaller there is no number to show.
        numberView.text = if (codeLength == 0) "" else CallerNumberFormat.format(prefix, codeLength, code, homeCountry = homeCountry)
    }

    private companion object {
        // androidx.autofill's HintConstants.AUTOFILL_HINT_SMS_OTP: what
        // autofill services (API 26+) look for; no androidx dependency for one string.
        const val AUTOFILL_HINT_SMS_OTP_CODE = "smsOTPCode"
    }
}
