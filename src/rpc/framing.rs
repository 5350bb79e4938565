//! Splits a byte stream into newline-delimited frames with bounded memory, so a client that
//! sends a gigabyte without a newline costs the server at most one frame limit.
//!
//! As in the Goxel daemon, a newline is not required after an object or array: a frame also
//! ends at the `}` or `]` that closes the top-level value (the scan knows about strings), so a
//! client that writes `{...}` and waits is answered.
//!
//! ```
//! use voxeld::rpc::{Frame, LineFramer};
//! let mut framer = LineFramer::new(1024);
//! framer.push(b"{\"a\":1}\r\n\n{\"b\"");
//! assert!(matches!(framer.next_frame(), Some(Frame::Line(b"{\"a\":1}"))));
//! assert!(framer.next_frame().is_none()); // `{"b"` waits for its newline
//! framer.push(b":2}");
//! assert!(matches!(framer.next_frame(), Some(Frame::Line(b"{\"b\":2}")))); // closed, no newline
//! ```

use std::collections::VecDeque;

/// One event produced by [`LineFramer::next_frame`].
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line without its `\n` (and without a trailing `\r`); never blank.
    Line(&'a [u8]),
    /// A line longer than the frame limit was received and discarded; answer `-32700`.
    Oversized,
}

/// Buffers incoming bytes and yields complete lines, never holding more than the frame limit of
/// an unfinished line.
#[derive(Debug)]
pub struct LineFramer {
    /// Complete lines (each ending in `\n`) followed by at most one partial line.
    buf: Vec<u8>,
    /// Read position in `buf`: everything before it has been handed out.
    start: usize,
    /// Length of the unterminated line at the end of `buf`.
    partial_len: usize,
    /// Offsets in `buf` where an oversized line was dropped, in order.
    oversized_at: VecDeque<usize>,
    /// True while skipping the rest of an oversized line up to its newline.
    discarding: bool,
    /// Set by [`LineFramer::finish`]: the final partial line is a frame too.
    eof: bool,
    /// How far the partial line has been scanned for the end of a top-level value.
    scan: ValueScan,
    max_frame_bytes: usize,
}

/// Scan state of the partial line: where a top-level object or array closes.
#[derive(Debug, Default, Clone, Copy)]
struct ValueScan {
    /// Bytes of the partial line already scanned.
    scanned: usize,
    /// Nesting depth of `{`/`[` outside strings.
    depth: u32,
    /// Inside a string literal.
    in_string: bool,
    /// The previous byte in a string was a backslash.
    escaped: bool,
    /// The value does not start with `{` or `[`: only a newline ends it.
    scalar: bool,
}

impl ValueScan {
    /// Scans `bytes` (the partial line from where the scan stopped); returns the offset just past
    /// the byte that closes the top-level value, counted from the start of the partial line.
    fn advance(&mut self, partial: &[u8]) -> Option<usize> {
        while self.scanned < partial.len() && !self.scalar {
            let b = partial[self.scanned];
            self.scanned += 1;
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(self.scanned);
                    }
                }
                b'"' if self.depth > 0 => self.in_string = true,
                _ if b.is_ascii_whitespace() => {}
                _ if self.depth == 0 => self.scalar = true,
                _ => {}
            }
        }
        None
    }
}

impl LineFramer {
    /// A framer whose lines may hold at most `max_frame_bytes` bytes (newline excluded).
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            partial_len: 0,
            oversized_at: VecDeque::new(),
            discarding: false,
            eof: false,
            scan: ValueScan::default(),
            max_frame_bytes,
        }
    }

    /// Appends received bytes. Bytes of an oversized line are dropped here, not buffered.
    pub fn push(&mut self, mut bytes: &[u8]) {
        self.compact();
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            if self.discarding {
                match newline {
                    Some(i) => {
                        self.discarding = false;
                        bytes = &bytes[i + 1..];
                    }
                    None => return,
                }
                continue;
            }
            let segment_len = newline.unwrap_or(bytes.len());
            if self.partial_len + segment_len > self.max_frame_bytes {
                self.buf.truncate(self.buf.len() - self.partial_len);
                self.partial_len = 0;
                self.scan = ValueScan::default();
                self.oversized_at.push_back(self.buf.len());
                match newline {
                    Some(i) => bytes = &bytes[i + 1..],
                    None => {
                        self.discarding = true;
                        return;
                    }
                }
                continue;
            }
            match newline {
                Some(i) => {
                    self.buf.extend_from_slice(&bytes[..=i]);
                    self.partial_len = 0;
                    self.scan = ValueScan::default();
                    bytes = &bytes[i + 1..];
                }
                None => {
                    self.buf.extend_from_slice(bytes);
                    self.partial_len += bytes.len();
                    return;
                }
            }
        }
    }

    /// Marks end of input: the last line, even without a newline, becomes a frame.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// The next complete frame, or `None` until more input arrives.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        loop {
            if self.oversized_at.front() == Some(&self.start) {
                self.oversized_at.pop_front();
                return Some(Frame::Oversized);
            }
            let rest = &self.buf[self.start..];
            let (line_len, consumed) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (i, i + 1),
                None if self.eof && !rest.is_empty() => {
                    self.partial_len = 0;
                    (rest.len(), rest.len())
                }
                None => {
                    // `rest` is the partial line: answer a value that is already closed.
                    let end = self.scan.advance(rest)?;
                    self.partial_len -= end;
                    self.scan = ValueScan::default();
                    (end, end)
                }
            };
            let line_start = self.start;
            self.start += consumed;
            let mut line = &self.buf[line_start..line_start + line_len];
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Some(Frame::Line(line));
            }
        }
    }

    /// Bytes currently held (complete lines not yet taken plus the partial line).
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops the bytes already handed out so the buffer does not grow without bound.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        self.buf.drain(..self.start);
        for offset in &mut self.oversized_at {
            *offset -= self.start;
        }
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(framer: &mut LineFramer) -> Vec<Result<String, ()>> {
        let mut out = Vec::new();
        while let Some(frame) = framer.next_frame() {
            out.push(match frame {
                Frame::Line(l) => Ok(String::from_utf8_lossy(l).into_owned()),
                Frame::Oversized => Err(()),
            });
        }
        out
    }

    fn ok(s: &str) -> Result<String, ()> {
        Ok(s.to_string())
    }

    #[test]
    fn crlf_and_blank_lines() {
        let mut f = LineFramer::new(100);
        f.push(b"a\r\n\r\n  \nb\n\n");
        assert_eq!(drain(&mut f), vec![ok("a"), ok("b")]);
    }

    #[test]
    fn partial_input_across_pushes() {
        let mut f = LineFramer::new(100);
        for b in b"{\"x\":1}\n{\"y\"".iter() {
            f.push(std::slice::from_ref(b));
        }
        assert_eq!(drain(&mut f), vec![ok("{\"x\":1}")]);
        f.push(b":2");
        assert_eq!(drain(&mut f), vec![]);
        f.push(b"}");
        assert_eq!(drain(&mut f), vec![ok("{\"y\":2}")]);
        f.push(b"\n");
        assert_eq!(drain(&mut f), vec![]);
        assert_eq!(f.buffered_len(), 0);
    }

    #[test]
    fn oversized_line_then_good_line() {
        let mut f = LineFramer::new(8);
        f.push(b"ok\n0123456789abcdef\ngood\n");
        assert_eq!(drain(&mut f), vec![ok("ok"), Err(()), ok("good")]);
    }

    #[test]
    fn oversized_line_is_not_buffered() {
        let mut f = LineFramer::new(8);
        f.push(b"01234");
        f.push(b"56789");
        assert_eq!(drain(&mut f), vec![Err(())]);
        for _ in 0..1000 {
            f.push(&[b'x'; 1000]);
            assert!(f.buffered_len() <= 8);
        }
        assert_eq!(drain(&mut f), vec![]);
        f.push(b"tail\nnext\n");
        assert_eq!(drain(&mut f), vec![ok("next")]);
    }

    #[test]
    fn exactly_the_limit_is_accepted() {
        let mut f = LineFramer::new(4);
        f.push(b"abcd\nabcde\n");
        assert_eq!(drain(&mut f), vec![ok("abcd"), Err(())]);
    }

    #[test]
    fn final_line_without_newline_only_at_finish() {
        let mut f = LineFramer::new(100);
        f.push(b"a\nlast");
        assert_eq!(drain(&mut f), vec![ok("a")]);
        f.finish();
        assert_eq!(drain(&mut f), vec![ok("last")]);
        assert_eq!(drain(&mut f), vec![]);
    }

    #[test]
    fn a_closed_value_is_a_frame_without_a_newline() {
        let mut f = LineFramer::new(100);
        f.push(br#"  {"s":"}]{\"","a":[1,{"b":2}]}{"next""#);
        assert_eq!(
            drain(&mut f),
            vec![ok(r#"  {"s":"}]{\"","a":[1,{"b":2}]}"#)]
        );
        f.push(b":1");
        assert_eq!(drain(&mut f), vec![]);
        f.push(b"}");
        assert_eq!(drain(&mut f), vec![ok(r#"{"next":1}"#)]);
        // The newline that follows later is a blank line, not a frame.
        f.push(b"\n[1,2]");
        assert_eq!(drain(&mut f), vec![ok("[1,2]")]);
        assert_eq!(f.buffered_len(), 0);
    }

    #[test]
    fn a_scalar_or_broken_value_waits_for_its_newline() {
        let mut f = LineFramer::new(100);
        f.push(b"123");
        assert_eq!(drain(&mut f), vec![]);
        f.push(b"\n} {");
        assert_eq!(drain(&mut f), vec![ok("123")]);
        f.push(b"\n");
        assert_eq!(drain(&mut f), vec![ok("} {")]);
    }

    #[test]
    fn byte_by_byte_values_without_newlines() {
        let mut f = LineFramer::new(100);
        let mut frames = Vec::new();
        for b in br#"{"a":"x\\"}[{"b":"]"}]"#.iter() {
            f.push(std::slice::from_ref(b));
            frames.extend(drain(&mut f));
        }
        assert_eq!(frames, vec![ok(r#"{"a":"x\\"}"#), ok(r#"[{"b":"]"}]"#)]);
    }

    #[test]
    fn oversized_events_keep_their_order_across_compaction() {
        let mut f = LineFramer::new(3);
        f.push(b"a\nb\n");
        assert_eq!(f.next_frame(), Some(Frame::Line(b"a")));
        f.push(b"toolong\nc\n");
        assert_eq!(drain(&mut f), vec![ok("b"), Err(()), ok("c")]);
    }
}
