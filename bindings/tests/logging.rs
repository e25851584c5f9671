//! The logging bridge from the outside, as an app uses it: a foreign
//! `MotpLogger` hears the SDK's lines, filtered by level and origin.

use std::sync::{Arc, Mutex};

use motp_ffi::{set_log_level, set_logger, LogLevel, MotpLogger};

#[derive(Default)]
struct Collect(Mutex<Vec<(LogLevel, String, String)>>);

impl MotpLogger for Collect {
    fn log(&self, level: LogLevel, target: String, message: String) {
        self.0.lock().unwrap().push((level, target, message));
    }
}

// One test: the logger and the level are process-wide.
#[test]
fn lines_reach_the_foreign_logger_filtered_by_level_and_origin() {
    let sink = Arc::new(Collect::default());
    set_logger(Some(sink.clone()), LogLevel::Info);
    log::info!(target: "motp_core::driver", "requesting");
    log::debug!(target: "motp_core::driver", "hidden below info");
    log::info!(target: "hyper::client", "dependency chatter");
    log::warn!(target: "rustls", "dependency warning");

    set_log_level(LogLevel::Debug);
    log::debug!(target: "motp_ffi", "now visible");
    set_logger(None, LogLevel::Trace);
    log::error!(target: "motp_ffi", "after removal");

    let lines = sink.0.lock().unwrap().clone();
    let messages: Vec<_> = lines.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        ["requesting", "dependency warning", "now visible"]
    );
    assert_eq!(lines[0].0, LogLevel::Info);
    assert_eq!(lines[0].1, "motp_core::driver");
}
