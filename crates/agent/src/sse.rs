//! Server-sent events, decoded incrementally: bytes go in as they arrive, the `data` of each
//! complete event comes out (multi-line data joined with `\n`; comments, `event:` and `id:`
//! lines ignored). Both `\n` and `\r\n` line ends are accepted.

/// Why a stream is not one of server-sent events.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseError {
    #[error("an event stream line is too long")]
    LineTooLong,
    #[error("an event stream line is not UTF-8")]
    NotUtf8(#[source] std::string::FromUtf8Error),
}

/// An incremental decoder; feed it bytes with [`SseDecoder::push`].
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// Bytes of a line not yet complete.
    partial: Vec<u8>,
    /// Data lines of the event being read.
    data: Vec<String>,
}

/// Most bytes one line may hold before the stream counts as malformed.
const MAX_LINE: usize = 4 * 1024 * 1024;

impl SseDecoder {
    /// Adds `bytes` and returns the data of every event they complete, in order.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, SseError> {
        let mut events = Vec::new();
        for &byte in bytes {
            if byte != b'\n' {
                self.partial.push(byte);
                if self.partial.len() > MAX_LINE {
                    return Err(SseError::LineTooLong);
                }
                continue;
            }
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(SseError::NotUtf8)?;
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data).join("\n"));
                }
            } else if let Some(data) = line.strip_prefix("data:") {
                self.data
                    .push(data.strip_prefix(' ').unwrap_or(data).to_owned());
            }
        }
        Ok(events)
    }

    /// The data of an event the stream ended without a blank line after.
    pub(crate) fn finish(&mut self) -> Option<String> {
        if !self.partial.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            if let Some(data) = line.strip_prefix("data:") {
                self.data
                    .push(data.strip_prefix(' ').unwrap_or(data).to_owned());
            }
        }
        (!self.data.is_empty()).then(|| std::mem::take(&mut self.data).join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads_come_out_whole_and_in_order() {
        let stream = b": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: line one\ndata: line two\n\ndata: [DONE]";
        let mut decoder = SseDecoder::default();
        let mut events = Vec::new();
        for piece in stream.chunks(7) {
            events.extend(decoder.push(piece).expect("valid"));
        }
        events.extend(decoder.finish());
        assert_eq!(events, ["{\"a\":1}", "line one\nline two", "[DONE]"]);
    }
}
