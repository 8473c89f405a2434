//! Reads a streamed (NDJSON) reply: lines may arrive split across reads, an `{"error"}` line
//! can come mid-stream, and a proxy can cut the stream before the `done` line.

use std::io::{self, Read};

use super::error::Problem;
use super::wire::Reply;

/// The whole answer assembled from its lines.
#[derive(Debug, Default, PartialEq)]
pub struct Streamed {
    pub text: String,
    pub done_reason: Option<String>,
    /// Tool calls, from whichever lines carried them (usually a line of their own).
    pub tool_calls: Vec<serde_json::Value>,
}

/// Reads lines until one says `done: true`. `cap` bounds the bytes read; `io_problem` turns a
/// read error (timeout, reset, truncated chunking) into the attempt's problem. `on_text` gets the
/// reply's text as it arrives: what the lines of each read added, never empty.
pub fn read(
    mut body: impl Read,
    cap: usize,
    io_problem: impl Fn(io::Error) -> Problem,
    on_text: &mut dyn FnMut(&str),
) -> Result<Streamed, Problem> {
    let mut out = Streamed::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut total = 0usize;
    loop {
        let n = match body.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_problem(e)),
        };
        if n == 0 {
            break;
        }
        total += n;
        if total > cap {
            return Err(Problem::TooBig(cap));
        }
        pending.extend_from_slice(&chunk[..n]);
        let before = out.text.len();
        let mut done = false;
        while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            if line_done(&line, &mut out)? {
                done = true;
                break;
            }
        }
        hand_on(&out.text[before..], on_text);
        if done {
            return Ok(out);
        }
    }
    // A last line without its newline still counts.
    let before = out.text.len();
    if line_done(&pending, &mut out)? {
        hand_on(&out.text[before..], on_text);
        return Ok(out);
    }
    Err(Problem::BadBody(
        "the stream ended without its final \"done\" line; the proxy or the server cut it off"
            .into(),
    ))
}

fn hand_on(new: &str, on_text: &mut dyn FnMut(&str)) {
    if !new.is_empty() {
        on_text(new);
    }
}

/// Folds one line into `out`; true when it was the final line.
fn line_done(line: &[u8], out: &mut Streamed) -> Result<bool, Problem> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let mut reply: Reply = serde_json::from_slice(line)
        .map_err(|e| Problem::BadBody(format!("a stream line is not JSON: {e}")))?;
    if let Some(err) = reply.error {
        return Err(Problem::StreamError(crate::http::snippet(&err)));
    }
    out.text.push_str(reply.text());
    out.tool_calls.extend(reply.tool_calls());
    if reply.done == Some(true) {
        out.done_reason = reply.done_reason;
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out the body a few bytes at a time, like a proxy that re-chunks.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    const OK: &str = concat!(
        r#"{"response":"That","done":false}"#,
        "\n\n",
        r#"{"response":"","thinking":"hmm","done":false}"#,
        "\n",
        r#"{"response":" works.","done":false}"#,
        "\n",
        r#"{"response":"","done":true,"done_reason":"stop"}"#,
        "\n"
    );

    fn run(body: &str, step: usize, cap: usize) -> Result<Streamed, Problem> {
        read(
            Trickle {
                data: body.as_bytes(),
                step,
            },
            cap,
            |e| Problem::Dropped(e.to_string()),
            &mut |_| {},
        )
    }

    #[test]
    fn split_lines_join_up_and_thinking_is_dropped() {
        for step in [1, 2, 7, 64, 10_000] {
            let s = run(OK, step, 1 << 20).unwrap();
            assert_eq!(s.text, "That works.", "step {step}");
            assert_eq!(s.done_reason.as_deref(), Some("stop"));
        }
    }

    #[test]
    fn text_is_handed_on_as_each_read_completes_lines() {
        for (step, want) in [
            // One read per line or less: each piece as its line completes.
            (1, vec!["That", " works."]),
            (40, vec!["That", " works."]),
            // Everything in one read (a buffering proxy): one piece.
            (10_000, vec!["That works."]),
        ] {
            let mut pieces: Vec<String> = Vec::new();
            let body = Trickle {
                data: OK.as_bytes(),
                step,
            };
            read(
                body,
                1 << 20,
                |e| Problem::Dropped(e.to_string()),
                &mut |t| pieces.push(t.to_string()),
            )
            .unwrap();
            assert_eq!(pieces, want, "step {step}");
        }
        // A cut stream hands on what arrived before the cut, then fails.
        let mut got = String::new();
        let cut = concat!(r#"{"response":"Yes","done":false}"#, "\n", r#"{"resp"#);
        let body = Trickle {
            data: cut.as_bytes(),
            step: 3,
        };
        let r = read(
            body,
            1 << 20,
            |e| Problem::Dropped(e.to_string()),
            &mut |t| got.push_str(t),
        );
        assert!(r.is_err());
        assert_eq!(got, "Yes");
    }

    #[test]
    fn chat_lines_and_a_final_line_without_newline() {
        let body = concat!(
            r#"{"message":{"role":"assistant","content":"Hi"},"done":false}"#,
            "\n",
            r#"{"message":{"role":"assistant","content":"!"},"done":true,"done_reason":"length"}"#
        );
        let s = run(body, 5, 1 << 20).unwrap();
        assert_eq!(s.text, "Hi!");
        assert_eq!(s.done_reason.as_deref(), Some("length"));
    }

    #[test]
    fn tool_calls_in_a_line_of_their_own_are_collected() {
        // As fixtures/ollama/chat-stream-tool-call.ndjson: the call, then the final line.
        let body = concat!(
            r#"{"model":"qwen3:4b","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_x9k2m4pq","function":{"index":0,"name":"set_timer","arguments":{"seconds":180,"label":"关火"}}}]},"done":false}"#,
            "\n",
            r#"{"model":"qwen3:4b","message":{"role":"assistant","content":""},"done_reason":"stop","done":true}"#,
            "\n"
        );
        for step in [1, 5, 10_000] {
            let s = run(body, step, 1 << 20).unwrap();
            assert_eq!(s.text, "");
            assert_eq!(s.tool_calls.len(), 1, "step {step}");
            assert_eq!(s.tool_calls[0]["function"]["arguments"]["label"], "关火");
            assert_eq!(s.tool_calls[0]["id"], "call_x9k2m4pq");
        }
    }

    #[test]
    fn failures() {
        let midstream = concat!(
            r#"{"response":"Yes","done":false}"#,
            "\n",
            r#"{"error":"an error was encountered while running the model"}"#,
            "\n"
        );
        let cut = concat!(
            r#"{"response":"Yes","done":false}"#,
            "\n",
            r#"{"response":" and"#
        );
        let cases: [(&str, usize, Problem); 4] = [
            (
                midstream,
                3,
                Problem::StreamError("an error was encountered while running the model".into()),
            ),
            (
                r#"{"response":"a","done":false}"#,
                4,
                Problem::BadBody(String::new()),
            ),
            (cut, 4, Problem::BadBody(String::new())),
            (OK, 4, Problem::TooBig(20)),
        ];
        for (body, step, want) in cases {
            let cap = if let Problem::TooBig(c) = want {
                c
            } else {
                1 << 20
            };
            let got = run(body, step, cap).unwrap_err();
            assert!(got.same_kind(&want), "{body:?}: {got:?}");
            if let Problem::StreamError(_) = want {
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn read_errors_go_through_the_mapper() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
            }
        }
        let got = read(
            Broken,
            100,
            |e| Problem::Dropped(e.kind().to_string()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(got, Problem::Dropped(_)));
    }
}
