//! mOTP UniFFI bindings (being written).
