//! The demo's timeline: what happened, who did it, and when, in
//! milliseconds from the moment the app asked for the verification.
//!
//! Events arrive from several tasks (the SDK's state listener, the SIP tap,
//! the handset, the demo itself) and are sorted by time when printed; events
//! at the same instant keep the order they were recorded in.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::time_text::format_ms;

/// Who an event comes from (the column after the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The app, through motp-core (what the Android/iOS shell calls).
    App,
    /// motp-core's own work (state changes, matching).
    Core,
    /// A SIP message on the wire between the server and the handset.
    Sip,
    /// The loopback handset (the phone).
    Handset,
    /// The person holding the phone (iOS: reads and types the code).
    User,
    /// The app's backend (token introspection).
    Backend,
}

impl Actor {
    fn label(self) -> &'static str {
        match self {
            Actor::App => "app",
            Actor::Core => "core",
            Actor::Sip => "sip",
            Actor::Handset => "handset",
            Actor::User => "user",
            Actor::Backend => "backend",
        }
    }
}

#[derive(Debug, Clone)]
struct Event {
    at: Duration,
    actor: Actor,
    text: String,
}

/// One verification's events. Cheap to share between tasks.
#[derive(Debug)]
pub struct Timeline {
    origin: Instant,
    origin_wall: SystemTime,
    events: Mutex<Vec<Event>>,
}

impl Timeline {
    /// A timeline whose zero is now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            origin_wall: SystemTime::now(),
            events: Mutex::new(Vec::new()),
        })
    }

    /// The instant of time zero.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Records an event happening now.
    pub fn mark(&self, actor: Actor, text: impl Into<String>) {
        self.mark_at(Instant::now(), actor, text);
    }

    /// Records an event that happened at `at` (events before time zero are
    /// shown at zero).
    pub fn mark_at(&self, at: Instant, actor: Actor, text: impl Into<String>) {
        self.push(
            at.saturating_duration_since(self.origin),
            actor,
            text.into(),
        );
    }

    /// Records an event stamped with the wall clock (the handset's
    /// `observed_at`, as a phone reports it).
    pub fn mark_wall(&self, at: SystemTime, actor: Actor, text: impl Into<String>) {
        let since = at.duration_since(self.origin_wall).unwrap_or_default();
        self.push(since, actor, text.into());
    }

    fn push(&self, at: Duration, actor: Actor, text: String) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.push(Event { at, actor, text });
    }

    /// The events, sorted by time, one per line, each indented by `indent`.
    pub fn render(&self, indent: &str) -> String {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        events.sort_by_key(|e| e.at); // stable: ties keep recording order
        let mut out = String::new();
        for event in events {
            let _ = writeln!(
                out,
                "{indent}{:>7} ms  {:<8} {}",
                format_ms(event.at),
                event.actor.label(),
                event.text
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_sorted_by_time_and_ties_keep_their_order() {
        let timeline = Timeline::new();
        let zero = timeline.origin();
        timeline.mark_at(zero + Duration::from_millis(20), Actor::Sip, "later");
        timeline.mark_at(zero + Duration::from_millis(5), Actor::App, "first");
        timeline.mark_at(zero + Duration::from_millis(5), Actor::Core, "second");
        timeline.mark_wall(SystemTime::UNIX_EPOCH, Actor::Handset, "before zero");
        let text = timeline.render("");
        let order: Vec<&str> = text
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(order, ["zero", "first", "second", "later"]);
        assert!(text.starts_with("    0.0 ms  handset"), "{text}");
        assert!(text.contains("   20 ms  sip      later"), "{text}");
    }
}
