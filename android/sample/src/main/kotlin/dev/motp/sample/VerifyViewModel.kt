package dev.motp.sample

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.SavedStateHandle
import androidx.lifecycle.viewModelScope
import dev.motp.android.Motp
import dev.motp.android.MotpVerification
import dev.motp.android.SavedVerification
import dev.motp.core.VerificationState
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch

/**
 * Holds the verification across rotation (the ViewModel outlives the
 * Activity; `viewModelScope` ends only when the screen is left for good)
 * and across process death (the `SavedStateHandle` keeps the record).
 */
class VerifyViewModel(app: Application, private val handle: SavedStateHandle) : AndroidViewModel(app) {

    private val motp = Motp(app, BuildConfig.MOTP_SERVER_URL, BuildConfig.MOTP_PUBLISHABLE_KEY)
    private val current = MutableStateFlow<MotpVerification?>(null)

    /** The running verification, if any; the Activity collects its state. */
    val verification: StateFlow<MotpVerification?> = current

    init {
        // A new process after the old one was killed mid-verification.
        val saved = handle.get<SavedVerification>(KEY)
        if (saved != null && !saved.isExpired()) {
            follow(motp.resume(saved, viewModelScope))
        } else {
            handle.remove<SavedVerification>(KEY)
        }
    }

    fun start(phoneNumber: String) {
        current.value?.cancel()
        follow(motp.start(phoneNumber, viewModelScope))
    }

    private fun follow(started: MotpVerification) {
        current.value = started
        viewModelScope.launch {
            started.state.collect { state ->
                when {
                    state.isFinal() -> handle.remove<SavedVerification>(KEY)
                    state !is VerificationState.Requesting -> handle[KEY] = started.saved
                }
            }
        }
    }

    private companion object {
        const val KEY = "motp.verification"
    }
}
