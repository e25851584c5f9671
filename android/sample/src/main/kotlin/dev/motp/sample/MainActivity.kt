package dev.motp.sample

import android.app.AlertDialog
import android.os.Bundle
import android.text.InputType
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.viewModels
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import dev.motp.android.CodeEntryView
import dev.motp.android.MotpVerification
import dev.motp.android.RequestMotpPermissions
import dev.motp.core.CallEvent
import dev.motp.core.MotpException
import dev.motp.core.VerificationState
import kotlinx.coroutines.flow.collectLatest
import kotlinx.coroutines.launch

/**
 * One screen: a phone number, a button, the state, and the code field when
 * needed. The verification lives in [VerifyViewModel] (`viewModelScope`):
 * rotating the phone or switching to dark mode does not cancel it. The
 * Activity only draws, collecting while it is started.
 */
class MainActivity : ComponentActivity() {

    private val model: VerifyViewModel by viewModels()

    private lateinit var phone: EditText
    private lateinit var status: TextView
    private lateinit var codeEntry: CodeEntryView

    // Whatever the user answers, verify: a refusal only means typing the code.
    private val askPermissions = registerForActivityResult(RequestMotpPermissions()) {
        model.start(phone.text.toString())
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        phone = EditText(this).apply {
            hint = "+44 7700 900123"
            inputType = InputType.TYPE_CLASS_PHONE
        }
        status = TextView(this)
        codeEntry = CodeEntryView(this).apply { visibility = android.view.View.GONE }
        val verify = Button(this).apply {
            text = "Verify by missed call"
            setOnClickListener { explainThenAsk() }
        }
        setContentView(
            LinearLayout(this).apply {
                orientation = LinearLayout.VERTICAL
                setPadding(48, 48, 48, 48)
                addView(phone)
                addView(verify)
                addView(status)
                addView(codeEntry)
            },
        )
        codeEntry.onCodeComplete = { code -> submit(code) }

        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                model.verification.collectLatest { verification ->
                    if (verification == null) return@collectLatest
                    launch { verification.ringing.collect { codeEntry.focusCode() } }
                    launch {
                        verification.callEvents.collect { event ->
                            if (event is CallEvent.Failed) status.text = "The call failed (${event.reason}). Resend, or type the code."
                        }
                    }
                    verification.state.collect { render(verification, it) }
                }
            }
        }
    }

    /** Google Play's prominent disclosure: what is read and why, before the system dialog. */
    private fun explainThenAsk() {
        AlertDialog.Builder(this)
            .setTitle("Verify without typing a code")
            .setMessage(
                "We will call your number and hang up. To read the calling number, whose last " +
                    "digits are your code, this app reads your phone state and your call log " +
                    "during the verification only. Nothing else is read, stored or sent.",
            )
            .setPositiveButton("Continue") { _, _ -> askPermissions.launch(Unit) }
            .setNegativeButton("Type the code myself") { _, _ -> model.start(phone.text.toString()) }
            .show()
    }

    private suspend fun render(verification: MotpVerification, state: VerificationState) {
        status.text = when (state) {
            is VerificationState.Requesting -> "Requesting the call…"
            is VerificationState.AwaitingCall -> "We are calling you. Don't answer."
            is VerificationState.ManualEntry -> "Type the last digits of the number that called you."
            is VerificationState.Verifying -> "Checking…"
            is VerificationState.Verified -> "Verified. (Send the token to your backend.)"
            is VerificationState.Failed -> "Failed: ${state.error.message}"
            is VerificationState.Expired -> "Expired. Try again."
            is VerificationState.Canceled -> "Canceled."
            is VerificationState.Idle -> ""
        }
        if (state is VerificationState.ManualEntry) {
            codeEntry.setCaller(verification.caller())
            codeEntry.visibility = android.view.View.VISIBLE
            codeEntry.focusCode()
        } else if (state.isFinal()) {
            codeEntry.visibility = android.view.View.GONE
        }
    }

    private fun submit(code: String) {
        val current = model.verification.value ?: return
        lifecycleScope.launch {
            try {
                current.submitCode(code)
            } catch (e: MotpException.WrongCode) {
                codeEntry.setError("Wrong code, ${e.attemptsLeft} attempts left")
            } catch (e: MotpException) {
                codeEntry.setError(e.message)
            }
        }
    }
}
