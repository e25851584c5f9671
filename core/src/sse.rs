//! A reader of server-sent events (the `text/event-stream` format of the
//! HTML standard), enough for `GET /v1/verifications/{id}/events`.

/// One event: its `id`, its name (`event`, "message" when absent) and its
/// `data` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) data: String,
}

/// Turns the bytes of a stream, as they come, into events.
#[derive(Debug, Default)]
pub(crate) struct SseReader {
    /// An unfinished line.
    line: Vec<u8>,
    id: Option<String>,
    name: Option<String>,
    data: Option<String>,
}

/// Longest line kept; a longer one is cut (our events are small).
const MAX_LINE: usize = 64 * 1024;

impl SseReader {
    /// Feeds `bytes`; returns the events they completed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if let Some(event) = self.line_done(&String::from_utf8_lossy(&line)) {
                    events.push(event);
                }
            } else if self.line.len() < MAX_LINE {
                self.line.push(byte);
            }
        }
        events
    }

    fn line_done(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let data = self.data.take()?;
            return Some(SseEvent {
                id: self.id.clone(),
                name: self.name.take().unwrap_or_else(|| "message".to_owned()),
                data,
            });
        }
        if line.starts_with(':') {
            return None; // a comment: the heartbeat
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.id = Some(value.to_owned()),
            "event" => self.name = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_read_whole() {
        let text = b"retry: 1000\r\nid: 3\r\nevent: ringing\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: heartbeat\n\nid: 4\nevent: failed\ndata: x\n\n";
        for split in 0..text.len() {
            let mut reader = SseReader::default();
            let mut events = reader.feed(&text[..split]);
            events.extend(reader.feed(&text[split..]));
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        id: Some("3".into()),
                        name: "ringing".into(),
                        data: "{\"a\":\n1}".into()
                    },
                    SseEvent {
                        id: Some("4".into()),
                        name: "failed".into(),
                        data: "x".into()
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_comment_alone_is_no_event() {
        assert!(SseReader::default().feed(b": heartbeat\n\n").is_empty());
    }
}
