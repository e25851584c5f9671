//! Where the SDK's log lines go: the platform log (logcat on Android, the
//! unified log on Apple platforms) and, when the app sets one, its own
//! [`MotpLogger`].
//!
//! Lines from the SDK itself (`motp_*` targets) pass at the level set with
//! [`set_log_level`]; lines from the libraries underneath (HTTP, TLS) only
//! at `Warn` and above, so `Debug` stays readable. No line ever contains a
//! verification code or a full phone number.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Once, RwLock};

use log::{LevelFilter, Log, Metadata, Record};

/// How much the SDK logs, from nothing to everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures the app should know about.
    Error,
    /// Unexpected but handled situations. The default.
    Warn,
    /// One line per step of a verification.
    Info,
    /// Details useful when reporting a bug.
    Debug,
    /// Everything, including each HTTP exchange.
    Trace,
}

/// A sink for the SDK's log lines, for apps that route logs their own way
/// (Timber, a crash reporter, `OSLog` with their own subsystem…).
///
/// Called from the SDK's background threads: return quickly and do not call
/// back into the SDK from here. An exception thrown here is swallowed.
#[uniffi::export(foreign)]
pub trait MotpLogger: Send + Sync {
    /// One log line. `target` names the SDK module that wrote it
    /// (`motp_core::driver`); `message` never holds a code or a full number.
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// Sends the SDK's log lines at `level` and above to `logger`, in addition
/// to the platform log. Pass `null`/`nil` to remove a previously set logger.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn MotpLogger>>, level: LogLevel) {
    install();
    *DISPATCHER
        .foreign
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = logger;
    set_log_level(level);
}

/// Changes how much the SDK logs, at any time. The default is `Warn`.
#[uniffi::export]
pub fn set_log_level(level: LogLevel) {
    install();
    log::set_max_level(level.into());
}

/// Installs the SDK's dispatcher as the process's `log` logger, once. If
/// something else in the app already installed one, that one keeps the
/// SDK's lines and the SDK's own sinks stay silent.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if log::set_logger(&DISPATCHER).is_ok() {
            log::set_max_level(LevelFilter::Warn);
        }
    });
}

static DISPATCHER: Dispatcher = Dispatcher {
    foreign: RwLock::new(None),
};

struct Dispatcher {
    foreign: RwLock<Option<Arc<dyn MotpLogger>>>,
}

thread_local! {
    /// Set while a foreign logger runs, so a log line written from inside
    /// it (the app calling back into the SDK) cannot recurse.
    static IN_FOREIGN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

impl Log for Dispatcher {
    fn enabled(&self, metadata: &Metadata) -> bool {
        let from_sdk = metadata.target().starts_with("motp");
        metadata.level() <= log::max_level() && (from_sdk || metadata.level() <= log::Level::Warn)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        platform::log(record);
        // Cloned out so no lock is held while foreign code runs.
        let foreign = self
            .foreign
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(logger) = foreign {
            if IN_FOREIGN_LOGGER.replace(true) {
                return;
            }
            // An exception from the app's logger is a panic here (UniFFI).
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                logger.log(
                    record.level().into(),
                    record.target().to_string(),
                    record.args().to_string(),
                )
            }));
            IN_FOREIGN_LOGGER.set(false);
        }
    }

    fn flush(&self) {}
}

impl From<LogLevel> for LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Off => LevelFilter::Off,
            LogLevel::Error => LevelFilter::Error,
            LogLevel::Warn => LevelFilter::Warn,
            LogLevel::Info => LevelFilter::Info,
            LogLevel::Debug => LevelFilter::Debug,
            LogLevel::Trace => LevelFilter::Trace,
        }
    }
}

impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

#[cfg(target_os = "android")]
mod platform {
    use std::sync::OnceLock;

    use log::{LevelFilter, Log, Record};

    /// logcat, tag `motp`. Filtering already happened in the dispatcher.
    pub(super) fn log(record: &Record) {
        static LOGCAT: OnceLock<android_logger::AndroidLogger> = OnceLock::new();
        LOGCAT
            .get_or_init(|| {
                android_logger::AndroidLogger::new(
                    android_logger::Config::default()
                        .with_tag("motp")
                        .with_max_level(LevelFilter::Trace),
                )
            })
            .log(record);
    }
}

#[cfg(target_vendor = "apple")]
mod platform {
    use std::sync::OnceLock;

    use log::{LevelFilter, Log, Record};

    /// The unified log, subsystem `dev.motp.sdk` (Console.app, `log stream`).
    pub(super) fn log(record: &Record) {
        static OSLOG: OnceLock<oslog::OsLogger> = OnceLock::new();
        OSLOG
            .get_or_init(|| oslog::OsLogger::new("dev.motp.sdk").level_filter(LevelFilter::Trace))
            .log(record);
    }
}

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
mod platform {
    /// Desktop hosts (tests, the JVM harness) have no platform log: a
    /// foreign `MotpLogger` is the way to see lines there.
    pub(super) fn log(_record: &log::Record) {}
}
