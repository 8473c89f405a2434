//! Tool calls against the fake Ollama answering in Ollama's real shapes (the shared fixtures
//! `chat-*-tool-call*.json/ndjson` and `error-model-does-not-support-tools.json`, and replies
//! built in the same shapes): what the client sends back (the tools, the assistant message
//! with its calls, the `tool` messages with `tool_name`, in order), the rounds, the fallback
//! for a model without tools, hostile models, `voicebox ask` handing calls to the daemon, and
//! `voicebox check` reading the model's capabilities.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::cli::{text, voicebox_with};
use crate::support::config::Config;
use crate::support::fake_ollama::reply::fixture;
use crate::support::fake_ollama::{FakeOllama, Reply};
use voicebox::cancel::Token;
use voicebox::event::ToolUse;
use voicebox::machine::Exchange;
use voicebox::ollama::{Client, Message, Question};
use voicebox::tools::{Call, Executor};

/// Records every checked call and answers it `ok`.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<(Call, String)>>,
}

impl Executor for Recorder {
    fn run(&self, call: Call, lang: &str) -> Result<String, String> {
        self.calls.lock().unwrap().push((call.clone(), lang.into()));
        match call {
            Call::SetTimer { seconds, .. } => Ok(format!("timer set, rings in {seconds} s")),
            _ => Ok("done".into()),
        }
    }
}

fn chat_config(fake: &FakeOllama) -> Config {
    let mut c = Config::ollama(&fake.url());
    c.set("ollama", "endpoint", "\"chat\"");
    c
}

fn client(config: &Config, exec: &Arc<Recorder>) -> Client {
    Client::with_tools(&config.parse(), exec.clone())
}

fn ask(client: &Client, text: &str, lang: &str) -> voicebox::event::Answer {
    let q = Question {
        history: &[],
        text,
        lang,
        now: None,
    };
    client.ask_question(&q, &Token::new(), None).unwrap()
}

fn messages(request: &Value) -> Vec<Value> {
    request["messages"].as_array().cloned().unwrap_or_default()
}

fn tool_names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|d| d["function"]["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// A stand-in for the daemon's control socket: answers each `tool` line by the tool's name
/// and records the lines.
fn daemon(dir: &Path) -> (PathBuf, Arc<Mutex<Vec<String>>>) {
    let path = dir.join("control.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let got = lines.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut line = String::new();
            let _ = BufReader::new(conn.try_clone().unwrap()).read_line(&mut line);
            let reply = if line.contains("\"set_timer\"") {
                "ok timer set: 关火, rings at 12:33\n"
            } else {
                "error: too many timers: at most 20\n"
            };
            got.lock().unwrap().push(line);
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    (path, lines)
}

#[test]
fn ask_sets_a_timer_through_the_daemon_and_prints_the_reply() {
    let reply = "好的，三分钟后提醒你关火。";
    // The newer shape: two calls with `id` and `function.index`.
    let fake = FakeOllama::start(vec![
        Reply::fixture("chat-nonstream-tool-call-ids.json"),
        Reply::chat(reply),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (socket, lines) = daemon(dir.path());
    let mut c = chat_config(&fake);
    c.set(
        "control",
        "socket",
        &Config::string(socket.to_str().unwrap()),
    );
    let cfg = c.write(dir.path());
    let out = voicebox_with(
        &cfg,
        "info",
        &["ask", "三分钟后提醒我关火", "--no-speak"],
        &[("TZ", "Asia/Shanghai")],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout), format!("{reply}\n"));

    // The daemon got each checked call as one line, in the question's language.
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first: Value = serde_json::from_str(lines[0].strip_prefix("tool ").unwrap()).unwrap();
    assert_eq!(
        first,
        json!({"name": "set_timer", "arguments": {"seconds": 180, "label": "关火"}, "lang": "zh"})
    );
    assert!(lines[1].contains(r#""name":"set_volume""#), "{}", lines[1]);

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let (one, two) = (reqs[0].json(), reqs[1].json());
    // Round 1: the tools offered, the time in the system prompt, in Chinese.
    assert_eq!(
        tool_names(&one),
        [
            "set_timer",
            "set_alarm",
            "list_timers",
            "cancel_timer",
            "set_volume"
        ]
    );
    let m1 = messages(&one);
    assert_eq!(m1.len(), 2);
    let system = m1[0]["content"].as_str().unwrap();
    assert!(system.contains("当前本地时间："), "{system}");
    assert!(
        system.contains("时区 Asia/Shanghai (UTC+08:00)"),
        "{system}"
    );
    assert_eq!(
        m1[1],
        json!({"role": "user", "content": "三分钟后提醒我关火"})
    );
    // Round 2: the same, then the assistant message with its calls exactly as sent, then one
    // tool message per call, in order, with tool_name (and tool_call_id from the call's id).
    let m2 = messages(&two);
    assert_eq!(m2.len(), 5, "{m2:?}");
    assert_eq!(m2[..2], m1[..]);
    let sent = fixture_json("chat-nonstream-tool-call-ids.json");
    assert_eq!(
        m2[2],
        json!({"role": "assistant", "content": "", "tool_calls": sent["message"]["tool_calls"]})
    );
    assert_eq!(
        m2[3],
        json!({"role": "tool", "content": "timer set: 关火, rings at 12:33", "tool_name": "set_timer", "tool_call_id": "call_x9k2m4pq"})
    );
    assert_eq!(
        m2[4],
        json!({"role": "tool", "content": "error: too many timers: at most 20", "tool_name": "set_volume", "tool_call_id": "call_b7d1r0zt"})
    );
    assert_eq!(
        tool_names(&two).len(),
        5,
        "round 2 of 3 still offers the tools"
    );

    // One reply line for the question, rounds counted.
    let replies: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("ollama reply"))
        .collect();
    assert_eq!(replies.len(), 1, "{stderr}");
    let chars = reply.chars().count();
    assert!(
        replies[0].contains(&format!("response_chars={chars}")),
        "{}",
        replies[0]
    );
    assert!(replies[0].contains("rounds=2"), "{}", replies[0]);
    assert!(replies[0].contains("tool_calls=2"), "{}", replies[0]);
    assert!(replies[0].contains("attempts=2"), "{}", replies[0]);
}

#[test]
fn ask_without_a_daemon_tells_the_model_nobody_keeps_the_timer() {
    let reply = "I can't keep timers right now: voicebox is not running.";
    let fake = FakeOllama::start(vec![
        Reply::chat_calls(&[("set_timer", json!({"seconds": 300, "label": "tea"}))]),
        Reply::chat(reply),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = chat_config(&fake);
    c.set(
        "control",
        "socket",
        &Config::string(dir.path().join("none.sock").to_str().unwrap()),
    );
    let out = voicebox_with(
        &c.write(dir.path()),
        "warn",
        &["ask", "set a timer for five minutes", "--no-speak"],
        &[("TZ", "Europe/Berlin")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{reply}\n"));
    let m = messages(&fake.requests()[1].json());
    assert!(
        m[0]["content"]
            .as_str()
            .unwrap()
            .contains("The local time now is")
    );
    assert!(
        m[0]["content"]
            .as_str()
            .unwrap()
            .contains("Europe/Berlin (UTC+0")
    );
    // The older shape: no id, so no tool_call_id.
    assert_eq!(m[3]["role"], "tool");
    assert_eq!(m[3]["tool_name"], "set_timer");
    assert!(m[3].get("tool_call_id").is_none());
    let said = m[3]["content"].as_str().unwrap();
    assert!(
        said.starts_with("error: not done: no voicebox daemon is running"),
        "{said}"
    );
}

#[test]
fn a_streamed_tool_call_is_run_and_the_next_round_is_streamed_too() {
    let fake = FakeOllama::start(vec![
        Reply::fixture("chat-stream-tool-call.ndjson"),
        Reply::ndjson(
            concat!(
                r#"{"model":"qwen3:4b","message":{"role":"assistant","content":"好的，"},"done":false}"#,
                "\n",
                r#"{"model":"qwen3:4b","message":{"role":"assistant","content":"三分钟后提醒你。"},"done":false}"#,
                "\n",
                r#"{"model":"qwen3:4b","message":{"role":"assistant","content":""},"done_reason":"stop","done":true}"#,
                "\n"
            ),
            16,
        ),
    ]);
    let mut c = chat_config(&fake);
    c.set("ollama", "stream", "true");
    let exec = Arc::new(Recorder::default());
    let client = client(&c, &exec);
    let mut pieces = String::new();
    let mut sink = |t: &str| pieces.push_str(t);
    let q = Question {
        history: &[],
        text: "三分钟后提醒我关火",
        lang: "zh",
        now: None,
    };
    let answer = client
        .ask_question(&q, &Token::new(), Some(&mut sink))
        .unwrap();
    assert_eq!(pieces, "好的，三分钟后提醒你。");
    assert_eq!(answer.text, "好的，三分钟后提醒你。");
    assert_eq!(
        exec.calls.lock().unwrap().clone(),
        [(
            Call::SetTimer {
                seconds: 180,
                label: Some("关火".into())
            },
            "zh".to_string()
        )]
    );
    assert_eq!(
        answer.tools,
        [ToolUse {
            name: "set_timer".into(),
            arguments: r#"{"label":"关火","seconds":180}"#.into(),
            result: "timer set, rings in 180 s".into(),
        }]
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let two = reqs[1].json();
    assert_eq!(two["stream"], true);
    let m = messages(&two);
    assert_eq!(m[2]["tool_calls"][0]["id"], "call_x9k2m4pq");
    assert_eq!(m[2]["tool_calls"][0]["function"]["index"], 0);
    assert_eq!(m[3]["tool_name"], "set_timer");
    assert_eq!(m[3]["tool_call_id"], "call_x9k2m4pq");
}

#[test]
fn an_unknown_tool_in_the_docs_shape_is_answered_as_an_error() {
    // docs/api.md's example: get_current_weather, no id, no index.
    let fake = FakeOllama::start(vec![
        Reply::fixture("chat-nonstream-tool-call.json"),
        Reply::chat("I can't check the weather."),
    ]);
    let exec = Arc::new(Recorder::default());
    let answer = ask(
        &client(&chat_config(&fake), &exec),
        "weather in Paris?",
        "en",
    );
    assert_eq!(answer.text, "I can't check the weather.");
    assert!(exec.calls.lock().unwrap().is_empty());
    let m = messages(&fake.requests()[1].json());
    assert_eq!(
        m[2]["tool_calls"],
        fixture_json("chat-nonstream-tool-call.json")["message"]["tool_calls"]
    );
    assert_eq!(m[3]["tool_name"], "get_current_weather");
    assert!(m[3]["content"].as_str().unwrap().starts_with(
        "error: there is no tool named \"get_current_weather\"; the tools are set_timer"
    ));
}

#[test]
fn a_model_without_tools_is_asked_again_without_them_once_per_model() {
    // The binary: one WARN, the answer printed, one reply line.
    let fake = FakeOllama::start(vec![
        Reply::fixture("error-model-does-not-support-tools.json"),
        Reply::chat("Hello."),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = voicebox_with(
        &chat_config(&fake).write(dir.path()),
        "info",
        &["ask", "hello", "--no-speak"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout), "Hello.\n");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(tool_names(&reqs[0].json()).len(), 5);
    assert!(
        reqs[1].json().get("tools").is_none(),
        "asked again without tools"
    );
    let warns: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains("does not support tools"))
        .collect();
    assert_eq!(warns.len(), 1, "{stderr}");
    let replies: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("ollama reply"))
        .collect();
    assert_eq!(replies.len(), 1, "{stderr}");
    assert!(replies[0].contains("rounds=1"), "{}", replies[0]);

    // The same client asks that model without tools from then on: no second 400.
    let fake = FakeOllama::start(vec![
        Reply::fixture("error-model-does-not-support-tools.json"),
        Reply::chat("One."),
        Reply::chat("Two."),
    ]);
    let exec = Arc::new(Recorder::default());
    let client = client(&chat_config(&fake), &exec);
    assert_eq!(ask(&client, "one", "en").text, "One.");
    assert_eq!(ask(&client, "two", "en").text, "Two.");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[2].json().get("tools").is_none());

    // A 400 that persists without tools is the question's failure, not a loop.
    let fake = FakeOllama::start(vec![
        Reply::fixture("error-model-does-not-support-tools.json"),
        Reply::fixture("error-invalid-json.json"),
        Reply::chat("never"),
    ]);
    let q = Question {
        history: &[],
        text: "hi",
        lang: "en",
        now: None,
    };
    let err = Client::with_tools(&chat_config(&fake).parse(), exec.clone())
        .ask_question(&q, &Token::new(), None)
        .unwrap_err();
    assert_eq!(err.class, voicebox::event::FailureClass::Rejected);
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_model_that_calls_tools_round_after_round_stops_after_max_rounds() {
    // Strings for numbers, every round, never a word: three rounds with tools, a last one
    // without, then the built-in message in the question's language.
    let bad = || Reply::chat_calls_ids("", &[("set_timer", json!({"seconds": "180"}))]);
    let fake = FakeOllama::start(vec![bad(), bad(), bad(), bad(), Reply::chat("never asked")]);
    let exec = Arc::new(Recorder::default());
    let answer = ask(
        &client(&chat_config(&fake), &exec),
        "三分钟后提醒我关火",
        "zh",
    );
    assert_eq!(answer.text, "这件事我没能办完。");
    assert!(exec.calls.lock().unwrap().is_empty(), "no absurd call ran");
    assert_eq!(answer.tools.len(), 3);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs[..3] {
        assert_eq!(tool_names(&r.json()).len(), 5);
    }
    let last = reqs[3].json();
    assert!(
        last.get("tools").is_none(),
        "the last round offers no tools"
    );
    // Each round's call was answered as an error before the next.
    let m = messages(&last);
    let tool_msgs: Vec<&Value> = m.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_msgs.len(), 3);
    assert!(
        tool_msgs.iter().all(|t| t["content"]
            .as_str()
            .unwrap()
            .contains("seconds must be a number from 1 to 86400, not a string")),
        "{tool_msgs:?}"
    );

    // With words in the last reply, those are spoken instead.
    let fake = FakeOllama::start(vec![
        bad(),
        Reply::chat_calls_ids("I keep trying.", &[("list_timers", json!({}))]),
    ]);
    let mut c = chat_config(&fake);
    c.set("tools", "max_rounds", "1");
    let answer = ask(&client(&c, &exec), "timer", "en");
    assert_eq!(answer.text, "I keep trying.");
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn a_hundred_absurd_calls_in_one_reply_are_bounded() {
    let huge = "x".repeat(100_000);
    let mut calls: Vec<(&str, Value)> = vec![
        ("set_timer", json!({"seconds": -5})),
        ("set_timer", json!({"seconds": 1_000_000_000_000u64})),
        ("set_timer", json!({"seconds": 60, "label": huge})),
        (
            "set_timer",
            json!({"seconds": 60, "label": "tea\u{1b}[2J\u{7}"}),
        ),
    ];
    calls.extend((0..96).map(|_| ("set_timer", json!({"seconds": 1}))));
    let fake = FakeOllama::start(vec![
        Reply::chat_calls_ids("", &calls),
        Reply::chat("Done."),
    ]);
    let exec = Arc::new(Recorder::default());
    let answer = ask(&client(&chat_config(&fake), &exec), "timers", "en");
    assert_eq!(answer.text, "Done.");
    // Only the well-formed ones among the first five ran, the label cleaned.
    let ran = exec.calls.lock().unwrap().clone();
    assert_eq!(
        ran.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        [
            Call::SetTimer {
                seconds: 60,
                label: Some("tea[2J".into())
            },
            Call::SetTimer {
                seconds: 1,
                label: None
            }
        ]
    );
    let two = &fake.requests()[1];
    // The request stays small: the 100 kB label is not echoed back.
    assert!(two.body.len() < 20_000, "{} bytes", two.body.len());
    let m = messages(&two.json());
    let tools: Vec<&Value> = m.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tools.len(), 8);
    assert!(tools[0]["content"].as_str().unwrap().contains("not -5"));
    assert!(
        tools[1]["content"]
            .as_str()
            .unwrap()
            .contains("not 1000000000000")
    );
    assert!(
        tools[2]["content"]
            .as_str()
            .unwrap()
            .contains("at most 60 characters")
    );
    assert!(
        tools[5]["content"]
            .as_str()
            .unwrap()
            .contains("not run: at most 5")
    );
    assert!(
        tools[7]["content"]
            .as_str()
            .unwrap()
            .ends_with("(92 more calls in the same reply were ignored)")
    );
}

#[test]
fn a_remembered_tool_exchange_goes_back_with_the_follow_up() {
    let fake = FakeOllama::start(vec![
        Reply::chat_calls_ids("", &[("cancel_timer", json!({"label": "关火"}))]),
        Reply::chat("已取消。"),
    ]);
    let exec = Arc::new(Recorder::default());
    let history = Message::from_history(&[Exchange {
        question: "三分钟后提醒我关火".into(),
        answer: "好的。".into(),
        tools: vec![ToolUse {
            name: "set_timer".into(),
            arguments: r#"{"label":"关火","seconds":180}"#.into(),
            result: "timer set: 关火, rings at 12:33".into(),
        }],
    }]);
    let q = Question {
        history: &history,
        text: "取消那个计时器",
        lang: "zh",
        now: None,
    };
    let answer = client(&chat_config(&fake), &exec)
        .ask_question(&q, &Token::new(), None)
        .unwrap();
    assert_eq!(answer.text, "已取消。");
    let m = messages(&fake.requests()[0].json());
    let roles: Vec<&str> = m.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "user"]
    );
    assert_eq!(
        m[2]["tool_calls"],
        json!([{"function": {"name": "set_timer", "arguments": {"label": "关火", "seconds": 180}}}])
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "content": "timer set: 关火, rings at 12:33", "tool_name": "set_timer"})
    );
    assert_eq!(
        exec.calls.lock().unwrap()[0].0,
        Call::CancelTimer {
            label: Some("关火".into()),
            all: false
        }
    );
}

#[test]
fn generate_gets_the_time_in_system_and_no_tools() {
    let fake = FakeOllama::start(vec![Reply::generate("It is seven.")]);
    let dir = tempfile::tempdir().unwrap();
    let out = voicebox_with(
        &Config::ollama(&fake.url()).write(dir.path()),
        "warn",
        &["ask", "what time is it", "--no-speak"],
        &[("TZ", "America/New_York")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = fake.requests()[0].json();
    assert!(body.get("tools").is_none());
    let system = body["system"].as_str().unwrap();
    assert!(system.starts_with("You are a voice assistant"), "{system}");
    assert!(system.contains("The local time now is "), "{system}");
    assert!(system.contains("America/New_York (UTC-0"), "{system}");
}

#[test]
fn check_says_whether_the_model_supports_tools() {
    let run = |show: Reply| {
        let fake = FakeOllama::start(vec![
            Reply::fixture("version-ok.json"),
            Reply::fixture("tags-ok.json"),
            show,
        ]);
        let dir = tempfile::tempdir().unwrap();
        let out = voicebox_with(
            &chat_config(&fake).write(dir.path()),
            "warn",
            &["check"],
            &[],
        );
        let show = fake.requests().last().cloned().unwrap();
        assert_eq!(
            (show.method.as_str(), show.path.as_str()),
            ("POST", "/api/show")
        );
        assert_eq!(show.json(), json!({"model": "llama3.2"}));
        let stdout = text(&out.stdout);
        stdout
            .lines()
            .find(|l| l.contains("tools"))
            .unwrap_or_else(|| panic!("no tools line: {stdout}"))
            .to_string()
    };
    let yes = run(Reply::show(Some(&["completion", "tools"])));
    assert!(
        yes.starts_with("ok ") && yes.contains("llama3.2 supports tools"),
        "{yes}"
    );
    let no = run(Reply::show(Some(&["completion"])));
    assert!(
        no.starts_with("FAIL") && no.contains("does not support tools"),
        "{no}"
    );
    assert!(no.contains("tools.enabled = false"), "{no}");
    let unknown = run(Reply::show(None));
    assert!(
        unknown.starts_with("ok ") && unknown.contains("lists no capabilities"),
        "{unknown}"
    );
}

#[test]
fn every_round_keeps_the_retry_and_hang_up_rules() {
    // A 502 in the second round is retried like any question's.
    let fake = FakeOllama::start(vec![
        Reply::chat_calls(&[("list_timers", json!({}))]),
        Reply::nginx_502(),
        Reply::chat("No timers."),
    ]);
    let exec = Arc::new(Recorder::default());
    let answer = ask(&client(&chat_config(&fake), &exec), "any timers?", "en");
    assert_eq!(answer.text, "No timers.");
    assert_eq!(answer.attempts, 3);
    assert_eq!(fake.requests().len(), 3);

    // A cancel while the second round waits hangs up at once.
    let fake = FakeOllama::start(vec![
        Reply::chat_calls(&[("list_timers", json!({}))]),
        Reply::Hang,
    ]);
    let client = client(&chat_config(&fake), &exec);
    let token = Token::new();
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            token.cancel();
        })
    };
    let q = Question {
        history: &[],
        text: "any timers?",
        lang: "en",
        now: None,
    };
    let t0 = std::time::Instant::now();
    let err = client.ask_question(&q, &token, None).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(err.class, voicebox::event::FailureClass::Cancelled);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(fake.requests().len(), 2);
}

#[test]
fn words_of_two_rounds_are_kept_apart_streamed_or_not() {
    let line = |v: Value| format!("{v}\n");
    let round1 = [
        line(json!({"model": "qwen3:4b", "message": {"role": "assistant", "content": "Let me see."}, "done": false})),
        line(json!({"model": "qwen3:4b", "message": {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "function": {"index": 0, "name": "list_timers", "arguments": {}}}]}, "done": false})),
        line(json!({"model": "qwen3:4b", "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": true})),
    ]
    .concat();
    let round2 = [
        line(json!({"model": "qwen3:4b", "message": {"role": "assistant", "content": "No timers."}, "done": false})),
        line(json!({"model": "qwen3:4b", "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": true})),
    ]
    .concat();
    let fake = FakeOllama::start(vec![Reply::ndjson(&round1, 7), Reply::ndjson(&round2, 7)]);
    let mut c = chat_config(&fake);
    c.set("ollama", "stream", "true");
    let exec = Arc::new(Recorder::default());
    let mut pieces = String::new();
    let mut sink = |t: &str| pieces.push_str(t);
    let q = Question {
        history: &[],
        text: "any timers?",
        lang: "en",
        now: None,
    };
    let answer = client(&c, &exec)
        .ask_question(&q, &Token::new(), Some(&mut sink))
        .unwrap();
    assert_eq!(pieces, "Let me see.\nNo timers.");
    assert_eq!(answer.text, "Let me see.\nNo timers.");
    // The words went back with the calls.
    let m = messages(&fake.requests()[1].json());
    assert_eq!(m[2]["content"], "Let me see.");
    assert_eq!(m[2]["tool_calls"][0]["id"], "call_1");

    let fake = FakeOllama::start(vec![
        Reply::chat_calls_ids("Let me see.", &[("list_timers", json!({}))]),
        Reply::chat("No timers."),
    ]);
    let answer = ask(&client(&chat_config(&fake), &exec), "any timers?", "en");
    assert_eq!(answer.text, "Let me see.\nNo timers.");
}

#[test]
fn the_daemon_offers_the_tools_with_the_time_and_speaks_the_last_round() {
    use crate::support::daemon::Daemon;
    use crate::support::journald::num;
    use crate::support::sound::{Audio, spoken_mic};
    let question = "what is the capital of france";
    let answer = "Paris is the capital of France. It lies on the river Seine.";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mic = spoken_mic(dir, question);
    let fake = FakeOllama::start(vec![
        Reply::chat_calls_ids("", &[("list_timers", json!({}))]),
        Reply::chat(answer),
    ])
    .answer_loads(Vec::new());
    let d = Daemon::start(dir, &Config::daemon(&fake.url()), &mic);
    d.talk(1);
    assert_eq!(d.wait_turn_end(1), "answered", "{}", d.journal_text());

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let one = reqs[0].json();
    assert_eq!(tool_names(&one).len(), 5);
    let system = messages(&one)[0]["content"].as_str().unwrap().to_string();
    // The question was English (pocketsphinx's transcript): the time context is too.
    assert!(system.contains("The local time now is "), "{system}");
    let m = messages(&reqs[1].json());
    assert_eq!(m[2]["tool_calls"][0]["function"]["name"], "list_timers");
    assert_eq!(m[3]["role"], "tool");
    assert_eq!(m[3]["tool_name"], "list_timers");
    assert_eq!(m[3]["tool_call_id"], "call_00000000");

    // The last round's words were spoken, one stretch per sentence; one reply line.
    assert_eq!(Audio::read(dir).speech().len(), 2);
    let reply = &d.wait_log("ollama reply", 1)[0];
    assert_eq!(num(reply, "ROUNDS"), 2);
    assert_eq!(num(reply, "TOOL_CALLS"), 1);
    assert_eq!(num(reply, "RESPONSE_CHARS"), answer.chars().count() as i64);
    assert_eq!(d.wait_log("ollama reply", 1).len(), 1);
}
