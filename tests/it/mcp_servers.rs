//! `voicebox::mcp` against real MCP servers built on the official Python SDK: a stdio child and a
//! streamable-HTTP server behind a Bearer token. The call arrives with its arguments (the server
//! records it), the result comes back as text; a wrong token, a server that dies mid-call, one
//! that hangs and one that answers 100 MB are bounded and say what happened.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use voicebox::mcp::{Mcp, Server, Status, Transport, probe};
use voicebox::url::Url;

use crate::support::cli::{text, voicebox, voicebox_with};
use crate::support::config::Config;
use crate::support::daemon::Daemon;
use crate::support::fake_ollama::{FakeOllama, Reply};
use crate::support::mcp_servers::{self, HttpServer};
use crate::support::procfs;
use crate::support::sound::{Audio, spoken_mic};
use crate::support::{PATIENCE, poll};

const TOKEN: &str = "test-token-5f2c";

fn stdio(name: &str, record: &Path) -> Server {
    Server {
        name: name.into(),
        transport: Transport::Stdio(mcp_servers::stdio_argv(record)),
    }
}

fn http(name: &str, server: &HttpServer, token: &str) -> Server {
    Server {
        name: name.into(),
        transport: Transport::Http {
            url: Url::parse(&server.url()).unwrap(),
            token: Some(token.into()),
        },
    }
}

fn started(servers: &[Server], call_timeout: Duration) -> Mcp {
    let mcp = Mcp::start(servers, call_timeout);
    mcp.settle(PATIENCE);
    mcp
}

fn names(mcp: &Mcp) -> Vec<String> {
    let mut n: Vec<String> = mcp
        .tools()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn a_stdio_server_is_called_with_the_arguments_and_its_answer_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("calls.jsonl");
    let mcp = started(&[stdio("home", &record)], Duration::from_secs(10));
    assert_eq!(mcp.status(), [("home".to_string(), Status::Connected(6))]);
    // set_volume is a built-in's name: offered prefixed; the others under their own names.
    assert_eq!(
        names(&mcp),
        ["die", "fail", "hang", "home_set_volume", "huge", "light_on"]
    );
    let light = mcp
        .tools()
        .into_iter()
        .find(|t| t["function"]["name"] == "light_on")
        .unwrap();
    assert_eq!(light["type"], "function");
    assert!(
        light["function"]["description"]
            .as_str()
            .unwrap()
            .contains("客厅")
    );
    assert_eq!(
        light["function"]["parameters"]["properties"]["room"]["type"],
        "string"
    );

    assert_eq!(
        mcp.call("light_on", &json!({"room": "客厅"})),
        Some(Ok("the 客厅 light is on".into()))
    );
    assert_eq!(
        mcp.call("home_set_volume", &json!({"level": 30})),
        Some(Ok("stereo volume 30".into()))
    );
    assert_eq!(
        mcp_servers::calls(&record),
        [
            json!({"tool": "light_on", "arguments": {"room": "客厅"}}),
            json!({"tool": "set_volume", "arguments": {"level": 30}}),
        ]
    );
    assert_eq!(
        mcp.call("set_volume", &json!({"level": 1})),
        None,
        "the built-in's name is not the server's"
    );
    assert_eq!(mcp.call("nope", &json!({})), None);

    let failed = mcp.call("fail", &json!({})).unwrap().unwrap_err();
    assert!(
        failed.contains("the kitchen light is unreachable"),
        "{failed}"
    );
}

#[test]
fn an_http_server_behind_a_token_is_called_in_both_answer_shapes() {
    let dir = tempfile::tempdir().unwrap();
    for json_answers in [false, true] {
        let server = HttpServer::start(dir.path(), TOKEN, json_answers);
        let mcp = started(&[http("home", &server, TOKEN)], Duration::from_secs(10));
        assert_eq!(mcp.status(), [("home".to_string(), Status::Connected(6))]);
        assert_eq!(
            mcp.call("light_on", &json!({"room": "kitchen"})),
            Some(Ok("the kitchen light is on".into())),
            "json answers: {json_answers}"
        );
        assert_eq!(
            server.calls(),
            [json!({"tool": "light_on", "arguments": {"room": "kitchen"}})]
        );
        // A second call in the same session.
        assert_eq!(
            mcp.call("light_on", &json!({"room": "hall"})),
            Some(Ok("the hall light is on".into()))
        );
    }
}

#[test]
fn tools_two_servers_share_are_offered_prefixed_with_the_server_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start(dir.path(), TOKEN, false);
    let desk = dir.path().join("desk.jsonl");
    let mcp = started(
        &[http("home", &server, TOKEN), stdio("desk", &desk)],
        Duration::from_secs(10),
    );
    let n = names(&mcp);
    assert!(
        n.contains(&"home_light_on".to_string()) && n.contains(&"desk_light_on".to_string()),
        "{n:?}"
    );
    assert!(!n.contains(&"light_on".to_string()), "{n:?}");
    assert_eq!(
        mcp.call("desk_light_on", &json!({"room": "study"})),
        Some(Ok("the study light is on".into()))
    );
    assert_eq!(mcp_servers::calls(&desk).len(), 1);
    assert!(server.calls().is_empty());
}

#[test]
fn a_wrong_token_is_reported_as_such_and_its_tools_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start(dir.path(), TOKEN, false);
    let wrong = http("home", &server, "not-the-token");
    assert_eq!(
        probe(&wrong, Duration::from_secs(10)),
        Err("401 Unauthorized: check the token".into())
    );
    let mcp = started(&[wrong], Duration::from_secs(10));
    assert_eq!(
        mcp.status(),
        [(
            "home".to_string(),
            Status::Down("401 Unauthorized: check the token".into())
        )]
    );
    assert!(mcp.tools().is_empty());
    assert_eq!(mcp.call("light_on", &json!({"room": "x"})), None);
    assert!(server.calls().is_empty());
    assert_eq!(
        probe(&http("home", &server, TOKEN), Duration::from_secs(10)),
        Ok(6)
    );
}

#[test]
fn a_server_that_is_down_is_reported_and_one_that_is_not_mcp_too() {
    // A port nobody listens on, and a server that answers HTML.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = Server {
        name: "home".into(),
        transport: Transport::Http {
            url: Url::parse(&format!("http://127.0.0.1:{port}/api/mcp")).unwrap(),
            token: Some(TOKEN.into()),
        },
    };
    assert_eq!(
        probe(&down, Duration::from_secs(5)),
        Err("connection refused".into())
    );
    let missing = Server {
        name: "home".into(),
        transport: Transport::Stdio(vec!["/nonexistent/mcp-server".into()]),
    };
    let err = probe(&missing, Duration::from_secs(5)).unwrap_err();
    assert!(
        err.starts_with("cannot start /nonexistent/mcp-server"),
        "{err}"
    );
}

#[test]
fn a_stdio_server_that_dies_mid_call_is_an_error_then_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("calls.jsonl");
    let mcp = started(&[stdio("home", &record)], Duration::from_secs(10));
    let first = child_pids(&record);
    assert_eq!(first.len(), 1, "{first:?} {:?}", mcp.status());

    let err = mcp.call("die", &json!({})).unwrap().unwrap_err();
    assert_eq!(err, "the home server failed: the server exited");
    // Restarted after the first backoff (1 s): a new child, the old one reaped.
    let back = poll(PATIENCE, Duration::from_millis(50), || {
        (mcp.status()[0].1 == Status::Connected(6)).then_some(())
    });
    assert!(back.is_some(), "{:?}", mcp.status());
    let now = child_pids(&record);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, first);
    // Reaped: no zombie left behind.
    assert!(!Path::new(&format!("/proc/{}", first[0])).exists());
    assert_eq!(
        mcp.call("light_on", &json!({"room": "hall"})),
        Some(Ok("the hall light is on".into()))
    );

    // Dropping the set kills and reaps the child.
    drop(mcp);
    let gone = poll(Duration::from_secs(10), Duration::from_millis(20), || {
        child_pids(&record).is_empty().then_some(())
    });
    assert!(gone.is_some(), "{:?}", child_pids(&record));
}

#[test]
fn an_http_server_that_dies_mid_call_is_an_error_and_its_tools_go() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start(dir.path(), TOKEN, false);
    let mcp = started(&[http("home", &server, TOKEN)], Duration::from_secs(10));
    let err = mcp.call("die", &json!({})).unwrap().unwrap_err();
    assert!(err.starts_with("the home server failed: "), "{err}");
    let left_out = poll(PATIENCE, Duration::from_millis(50), || {
        matches!(&mcp.status()[0].1, Status::Down(why) if why == "connection refused").then_some(())
    });
    assert!(left_out.is_some(), "{:?}", mcp.status());
    assert!(mcp.tools().is_empty());
}

#[test]
fn a_tool_that_hangs_times_out_and_the_server_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("calls.jsonl");
    let server = HttpServer::start(dir.path(), TOKEN, false);
    let mcp = started(
        &[stdio("desk", &record), http("home", &server, TOKEN)],
        Duration::from_secs(2),
    );
    for (tool, server) in [("desk_hang", "desk"), ("home_hang", "home")] {
        let t = Instant::now();
        let err = mcp.call(tool, &json!({})).unwrap().unwrap_err();
        let took = t.elapsed();
        assert_eq!(
            err,
            format!("the tool hang of the {server} server did not answer within 2 s")
        );
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }
    assert_eq!(
        mcp.call("desk_light_on", &json!({"room": "hall"})),
        Some(Ok("the hall light is on".into()))
    );
    assert_eq!(
        mcp.call("home_light_on", &json!({"room": "hall"})),
        Some(Ok("the hall light is on".into()))
    );
}

#[test]
fn a_100_mb_result_is_cut_not_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("calls.jsonl");
    let server = HttpServer::start(dir.path(), TOKEN, false);
    let mcp = started(
        &[stdio("desk", &record), http("home", &server, TOKEN)],
        Duration::from_secs(120),
    );
    for tool in ["desk_huge", "home_huge"] {
        let text = mcp.call(tool, &json!({"megabytes": 100})).unwrap().unwrap();
        assert!(text.starts_with("lorem ipsum xxxx"), "{}", &text[..40]);
        assert!(
            text.ends_with("[the result was longer than 1 MiB and was cut]"),
            "{tool}"
        );
        assert!(text.chars().count() < 8100, "{}", text.chars().count());
    }
    // Both servers still answer afterwards.
    assert_eq!(
        mcp.call("desk_light_on", &json!({"room": "a"})),
        Some(Ok("the a light is on".into()))
    );
    assert_eq!(
        mcp.call("home_light_on", &json!({"room": "b"})),
        Some(Ok("the b light is on".into()))
    );
}

/// This process's children that run the stdio server recording into `record` (zombies have
/// no command line, so they count too, as their pid).
fn child_pids(record: &Path) -> Vec<i32> {
    let record = record.display().to_string();
    children()
        .into_iter()
        .filter(|(_, cmdline, state)| {
            cmdline.contains(&record) || (*state == 'Z' && cmdline.is_empty())
        })
        .map(|(pid, _, _)| pid)
        .collect()
}

/// Any process on the machine whose command line names `record`.
fn anywhere(record: &Path) -> Vec<i32> {
    let record = record.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(&record))
        })
        .collect()
}

/// (pid, command line, state) of this process's children.
fn children() -> Vec<(i32, String, char)> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid != me {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.push((pid, cmdline, state));
    }
    out
}

#[test]
fn check_prints_one_line_per_server_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = HttpServer::start(dir.path(), TOKEN, false);
    let record = dir.path().join("desk.jsonl");
    let argv: Vec<String> = mcp_servers::stdio_argv(&record);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut config = Config::ollama("http://127.0.0.1:9");
    config.set(
        "tools",
        "mcp",
        &format!(
            "[{{ name = \"desk\", command = {} }}, {{ name = \"home\", url = {}, token = \"wrong-{TOKEN}\" }}, \
             {{ name = \"good\", url = {}, token = {} }}, {{ name = \"gone\", url = \"http://127.0.0.1:{port}/api/mcp\" }}]",
            Config::argv(&argv),
            Config::string(&server.url()),
            Config::string(&server.url()),
            Config::string(TOKEN),
        ),
    );
    let out = voicebox(&config.write(dir.path()), "voicebox=debug", &["check"]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" mcp ")).collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("ok   mcp desk: connected, 6 tools ("),
        "{stdout}"
    );
    assert_eq!(lines[1], "FAIL mcp home: 401 Unauthorized: check the token");
    assert_eq!(
        lines[2],
        format!("ok   mcp good: connected, 6 tools ({})", server.url())
    );
    assert_eq!(lines[3], "FAIL mcp gone: connection refused");
    assert!(!out.status.success());
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "{stdout}\n{stderr}"
    );
    // The stdio server's stderr is in the log at DEBUG, under its name.
    assert!(
        stderr.lines().any(|l| l.contains("DEBUG")
            && l.contains("desk")
            && l.contains("stderr line from the test server")),
        "{stderr}"
    );
}

/// The whole path through `voicebox ask`: the model (the fake Ollama) calls a tool of the HTTP
/// server and one of the stdio server; each arrives with its arguments, the results go back to
/// the model as `tool` messages, and the model's answer is printed and spoken.
#[test]
fn ask_calls_the_servers_tools_and_speaks_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let home = HttpServer::start(dir.path(), TOKEN, false);
    let record = dir.path().join("desk.jsonl");
    let argv: Vec<String> = mcp_servers::stdio_argv(&record);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let fake = FakeOllama::start(vec![
        Reply::chat_calls_ids(
            "",
            &[
                ("home_light_on", json!({"room": "客厅"})),
                ("desk_light_on", json!({"room": "书房"})),
            ],
        ),
        Reply::chat("好的，客厅和书房的灯都打开了。"),
    ]);
    let mut config = Config::ollama(&fake.url());
    config
        .set("ollama", "endpoint", "\"chat\"")
        .set("audio", "linger_ms", "100")
        .set(
            "tools",
            "mcp",
            &format!(
                "[{{ name = \"home\", url = {}, token = {} }}, {{ name = \"desk\", command = {} }}]",
                Config::string(&home.url()),
                Config::string(TOKEN),
                Config::argv(&argv),
            ),
        );
    let out = voicebox_with(
        &config.write(dir.path()),
        "debug",
        &["ask", "把客厅的灯打开"],
        &[
            (
                "ALSA_CONFIG_PATH",
                &crate::support::alsa_conf().display().to_string(),
            ),
            ("VOICEBOX_TEST_SPK", "/dev/null"),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout), "好的，客厅和书房的灯都打开了。\n");
    assert!(
        stderr.lines().any(|l| l.contains("reply spoken")),
        "nothing spoken: {stderr}"
    );
    assert!(!stderr.contains(TOKEN), "the token is in the log");

    // The calls arrived with their arguments, each at its own server.
    assert_eq!(
        home.calls(),
        [json!({"tool": "light_on", "arguments": {"room": "客厅"}})]
    );
    assert_eq!(
        mcp_servers::calls(&record),
        [json!({"tool": "light_on", "arguments": {"room": "书房"}})]
    );
    // The model was offered the servers' tools beside the built-in ones, and got the results.
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let offered: Vec<String> = requests[0].json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
        .collect();
    for name in [
        "set_timer",
        "set_volume",
        "home_light_on",
        "desk_light_on",
        "home_set_volume",
    ] {
        assert!(
            offered.contains(&name.to_string()),
            "{name} not in {offered:?}"
        );
    }
    let messages = requests[1].json()["messages"].as_array().unwrap().clone();
    let tool_messages: Vec<(String, String)> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_name"].as_str().unwrap_or("?").to_string(),
                m["content"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    assert_eq!(
        tool_messages,
        [
            (
                "home_light_on".to_string(),
                "the 客厅 light is on".to_string()
            ),
            (
                "desk_light_on".to_string(),
                "the 书房 light is on".to_string()
            ),
        ]
    );
    // ask's stdio server went with it (killed, not orphaned).
    assert!(anywhere(&record).is_empty(), "{:?}", anywhere(&record));
}

/// The daemon: the servers connect at start, a spoken question calls a tool and the answer is
/// heard; a reload starts the stdio server anew (the old one killed and reaped); a daemon killed
/// with SIGKILL takes its stdio server with it.
#[test]
fn the_daemon_calls_the_servers_tools_and_its_stdio_server_lives_and_dies_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let home = HttpServer::start(dir, TOKEN, false);
    let record = dir.join("desk.jsonl");
    let argv: Vec<String> = mcp_servers::stdio_argv(&record);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mic = spoken_mic(dir, "turn on the light");
    let fake = FakeOllama::start(vec![
        Reply::chat_calls(&[
            ("desk_light_on", json!({"room": "客厅"})),
            ("set_timer", json!({"seconds": 600, "label": "tea"})),
        ]),
        Reply::chat("The living room light is on."),
    ]);
    let mut config = Config::daemon(&fake.url());
    config
        .set("stt", "command", &Config::fixed_stt("把客厅的灯打开"))
        .set(
            "tools",
            "mcp",
            &format!(
                "[{{ name = \"home\", url = {}, token = {} }}, {{ name = \"desk\", command = {} }}]",
                Config::string(&home.url()),
                Config::string(TOKEN),
                Config::argv(&argv),
            ),
        );
    let mut d = Daemon::start(dir, &config, &mic);
    d.wait_log("MCP server connected", 2);
    let first = anywhere(&record);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        procfs::descendants(d.pid)
            .iter()
            .any(|p| p.pid as i32 == first[0]),
        "the stdio server is not the daemon's"
    );

    d.talk(1);
    d.wait_turn_end(1);
    assert_eq!(
        mcp_servers::calls(&record),
        [json!({"tool": "light_on", "arguments": {"room": "客厅"}})]
    );
    let requests = fake.requests();
    let tools: Vec<serde_json::Value> = requests[1].json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .cloned()
        .collect();
    assert_eq!(tools[0]["tool_name"], "desk_light_on");
    assert_eq!(tools[0]["content"], "the 客厅 light is on");
    // The built-in tool beside it still goes to the daemon's loop, which keeps the timer.
    assert_eq!(tools[1]["tool_name"], "set_timer");
    let timers = d.ctl("timers").unwrap();
    assert!(timers.contains("tea"), "{timers} / {}", tools[1]);
    assert!(
        !Audio::read(dir).speech().is_empty(),
        "the answer was not heard"
    );

    // A reload builds a new set: a new stdio server, the old one killed and reaped.
    d.signal(libc::SIGHUP);
    let renewed = poll(PATIENCE, Duration::from_millis(50), || {
        let now = anywhere(&record);
        (now.len() == 1 && now != first).then_some(now)
    })
    .unwrap_or_else(|| {
        panic!(
            "no new stdio server after the reload: {:?}",
            anywhere(&record)
        )
    });
    let reaped = poll(Duration::from_secs(10), Duration::from_millis(20), || {
        (!procfs::descendants(d.pid)
            .iter()
            .any(|p| p.pid as i32 == first[0]))
        .then_some(())
    });
    assert!(reaped.is_some(), "the old server was not reaped");

    // SIGKILL leaves the daemon no time to clean up: the kernel kills the server.
    d.signal(libc::SIGKILL);
    d.wait_exit(PATIENCE);
    let gone = poll(Duration::from_secs(10), Duration::from_millis(20), || {
        anywhere(&record).is_empty().then_some(())
    });
    assert!(gone.is_some(), "{renewed:?} outlived the daemon");
}

/// A stdio server that stops reading its input (hand-written: the SDK always reads): a call
/// with large arguments fills the pipe, and the write gives up instead of blocking for ever.
#[test]
fn a_server_that_stops_reading_bounds_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("deaf.py");
    std::fs::write(
        &script,
        r#"import json, sys, time
def answer(i, result):
    print(json.dumps({"jsonrpc": "2.0", "id": i, "result": result}), flush=True)
init = json.loads(sys.stdin.readline())
answer(init["id"], {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "deaf", "version": "1"}})
sys.stdin.readline()  # notifications/initialized
listing = json.loads(sys.stdin.readline())
answer(listing["id"], {"tools": [{"name": "light_on", "inputSchema": {"type": "object"}}]})
time.sleep(3600)
"#,
    )
    .unwrap();
    let mcp = started(
        &[Server {
            name: "deaf".into(),
            transport: Transport::Stdio(vec!["python3".into(), script.display().to_string()]),
        }],
        Duration::from_secs(60),
    );
    assert_eq!(names(&mcp), ["light_on"]);
    let t = Instant::now();
    let err = mcp
        .call("light_on", &json!({"room": "x".repeat(1 << 20)}))
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err,
        "the deaf server failed: the server stopped reading its input"
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(mcp.tools().is_empty(), "its tools stay offered");
    // Killed and started anew.
    let back = poll(PATIENCE, Duration::from_millis(50), || {
        (mcp.status()[0].1 == Status::Connected(1)).then_some(())
    });
    assert!(back.is_some(), "{:?}", mcp.status());
}

/// With the tools turned off, no server is started and none is offered.
#[test]
fn no_server_starts_when_the_tools_are_off() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("desk.jsonl");
    let argv: Vec<String> = mcp_servers::stdio_argv(&record);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let fake = FakeOllama::start(vec![Reply::chat("Hello.")]);
    let mut config = Config::ollama(&fake.url());
    config
        .set("ollama", "endpoint", "\"chat\"")
        .set("tools", "enabled", "false")
        .set(
            "tools",
            "mcp",
            &format!("[{{ name = \"desk\", command = {} }}]", Config::argv(&argv)),
        );
    let out = voicebox(
        &config.write(dir.path()),
        "debug",
        &["ask", "hi", "--no-speak"],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("MCP server"), "{stderr}");
    assert!(fake.requests()[0].json().get("tools").is_none());
}
