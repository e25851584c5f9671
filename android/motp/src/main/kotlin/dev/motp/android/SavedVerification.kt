package dev.motp.android

import android.os.Bundle
import android.os.Parcel
import android.os.Parcelable
import dev.motp.core.CallerInfo

/**
 * What a new process needs to pick up a verification after the old one was
 * killed: the server's id, the caller pattern, and when it started (calls
 * from then on count). Parcelable, so it goes straight into a
 * `SavedStateHandle` or an Activity's `Bundle`; [toBundle]/[fromBundle]
 * where a plain Bundle is wanted. Holds no code and no token.
 *
 * ```
 * // in the ViewModel
 * savedStateHandle[KEY] = verification.saved
 * // after process death
 * savedStateHandle.get<SavedVerification>(KEY)?.let { motp.resume(it, viewModelScope) }
 * ```
 */
public data class SavedVerification(
    /** The server's id of the verification. */
    val id: String,
    /** The number being verified, E.164. */
    val phoneNumber: String,
    /** The caller pattern's E.164 prefix (`+442079460`). */
    val callerPrefix: String,
    /** How many code digits follow [callerPrefix]. */
    val codeLength: Int,
    /** When the verification started, by this phone's clock (ms since the epoch). */
    val startedAtMillis: Long,
    /** When it expires on the server, by this phone's clock (ms since the epoch). */
    val expiresAtMillis: Long,
) : Parcelable {

    /** The caller pattern, for [CodeEntryView.setCaller]. */
    val caller: CallerInfo get() = CallerInfo(callerPrefix, codeLength.toUByte())

    /** Whether it has expired at [nowMillis]: nothing left to resume. */
    public fun isExpired(nowMillis: Long = System.currentTimeMillis()): Boolean = nowMillis >= expiresAtMillis

    public fun toBundle(): Bundle = Bundle().apply {
        putString(KEY_ID, id)
        putString(KEY_PHONE, phoneNumber)
        putString(KEY_PREFIX, callerPrefix)
        putInt(KEY_LENGTH, codeLength)
        putLong(KEY_STARTED, startedAtMillis)
        putLong(KEY_EXPIRES, expiresAtMillis)
    }

    override fun describeContents(): Int = 0

    override fun writeToParcel(dest: Parcel, flags: Int) {
        dest.writeBundle(toBundle())
    }

    // The number is personal data: never in logs.
    override fun toString(): String =
        "SavedVerification(id=$id, phoneNumber=${maskNumber(phoneNumber)}, callerPrefix=$callerPrefix, " +
            "codeLength=$codeLength, startedAtMillis=$startedAtMillis, expiresAtMillis=$expiresAtMillis)"

    public companion object {
        private const val KEY_ID = "motp.id"
        private const val KEY_PHONE = "motp.phone_number"
        private const val KEY_PREFIX = "motp.caller_prefix"
        private const val KEY_LENGTH = "motp.code_length"
        private const val KEY_STARTED = "motp.started_at"
        private const val KEY_EXPIRES = "motp.expires_at"

        /** The record kept by [toBundle], or null when [bundle] holds none. */
        @JvmStatic
        public fun fromBundle(bundle: Bundle?): SavedVerification? {
            if (bundle == null) return null
            val id = bundle.getString(KEY_ID) ?: return null
            return SavedVerification(
                id = id,
                phoneNumber = bundle.getString(KEY_PHONE).orEmpty(),
                callerPrefix = bundle.getString(KEY_PREFIX) ?: return null,
                codeLength = bundle.getInt(KEY_LENGTH),
                startedAtMillis = bundle.getLong(KEY_STARTED),
                expiresAtMillis = bundle.getLong(KEY_EXPIRES),
            )
        }

        @JvmField
        public val CREATOR: Parcelable.Creator<SavedVerification> = object : Parcelable.Creator<SavedVerification> {
            override fun createFromParcel(source: Parcel): SavedVerification =
                requireNotNull(fromBundle(source.readBundle(SavedVerification::class.java.classLoader))) {
                    "not a SavedVerification parcel"
                }

            override fun newArray(size: Int): Array<SavedVerification?> = arrayOfNulls(size)
        }
    }
}
