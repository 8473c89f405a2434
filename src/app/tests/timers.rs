//! Timers in the loop, under the paused clock: set by a tool call, rung at their due time in
//! their language, silenced by a press, kept across a restart, missed while the box was off,
//! across a DST change, due during a reply; and one sleep until the soonest of many.

use jiff::Zoned;
use jiff::tz::TimeZone;

use super::*;
use crate::tools;

/// Central European time with its DST rules.
fn berlin() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

/// `YYYY-MM-DD HH:MM` in Berlin.
pub(super) fn at(s: &str) -> Zoned {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned(berlin()).unwrap()
}

fn timer(seconds: u32, label: Option<&str>) -> tools::Call {
    tools::Call::SetTimer {
        seconds,
        label: label.map(str::to_string),
    }
}

impl Harness {
    /// Sends a checked tool call as the Ollama worker would, and returns the loop's answer.
    async fn tool(&mut self, call: tools::Call, lang: &str) -> Result<String, String> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.post(Event::ToolCall {
            call,
            lang: lang.into(),
            reply,
        })
        .await;
        answer
            .try_recv()
            .expect("the loop answers a tool call at once")
    }

    /// Lets the loop wait for whatever comes next (a timer), and says how long that took.
    /// Readying the speaker on the way (`tools.ring_ready_s` before a timer) does not count.
    async fn wait(&mut self) -> Duration {
        let start = tokio::time::Instant::now();
        loop {
            let (calls, readied) = (self.calls().len(), self.readied().len());
            self.step().await;
            if self.calls().len() != calls || self.readied().len() == readied {
                return start.elapsed();
            }
        }
    }

    fn readied(&self) -> Vec<(tokio::time::Instant, Duration)> {
        self.log.borrow().readied.clone()
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.app.status_json()).unwrap()
    }

    fn rings(&self) -> Vec<String> {
        let calls = self.calls();
        calls
            .iter()
            .zip(calls.iter().skip(1))
            .filter_map(|pair| match pair {
                (Call::Earcon(Earcon::Alarm), Call::Speak(_, text)) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn a_timer_rings_at_its_due_time_in_its_language_and_a_press_silences_it() {
    let mut h = Harness::new(ButtonMode::Hold);
    let answer = h.tool(timer(180, Some("喝茶")), "zh").await.unwrap();
    assert_eq!(
        answer,
        r#"timer set: rings today at 05:03:00 (180 s from now), label "喝茶""#
    );
    assert_eq!(h.status()["timers"], 1);
    assert!(h.calls().is_empty(), "setting a timer makes no sound");

    assert_eq!(
        h.wait().await,
        Duration::from_secs(180),
        "one sleep, on time"
    );
    assert_eq!(h.rings(), ["时间到：喝茶。"]);
    assert_eq!(h.state(), State::Ringing);
    assert_eq!(h.status()["timers"], 0);
    let info = h.logs.info().join("\n");
    assert!(
        info.contains("timer set") && info.contains("timer rang"),
        "{info}"
    );
    assert!(
        !info.contains("喝茶"),
        "the label is the user's words: DEBUG only\n{info}"
    );

    // Its words end: a 2 s pause, then it rings again.
    h.post(spoken(1, heard(1))).await;
    assert_eq!(h.wait().await, Duration::from_secs(2));
    assert_eq!(h.rings().len(), 2);

    // A press stops it and starts nothing; its release neither.
    h.log.borrow_mut().calls.clear();
    h.post(Event::Button { pressed: true }).await;
    h.post(Event::Button { pressed: false }).await;
    assert_eq!(h.calls(), [Call::StopSpeaking]);
    assert_eq!(h.state(), State::Idle);
    assert!(
        h.logs
            .info()
            .join("\n")
            .contains("timer stopped ringing how=\"pressed\"")
    );
}

#[tokio::test(start_paused = true)]
async fn ctl_cancel_silences_a_ring_and_a_ring_ends_by_itself_after_ring_s() {
    let mut h = Harness::new(ButtonMode::Toggle);
    h.tool(timer(5, None), "en").await.unwrap();
    h.wait().await;
    assert_eq!(h.rings(), ["Time's up."]);
    h.post(Event::control(ControlCommand::Cancel)).await;
    assert_eq!(h.state(), State::Idle);

    h.tool(timer(5, None), "en").await.unwrap();
    h.wait().await;
    let started = tokio::time::Instant::now();
    // Each ring's words take 3 s here; ring_s is 60 s.
    while h.state() == State::Ringing {
        tokio::time::advance(Duration::from_secs(3)).await;
        let turn = h.app.machine.status()["turn"].as_u64().unwrap();
        h.post(spoken(turn, heard(1))).await;
        if h.state() == State::Ringing {
            h.wait().await;
        }
    }
    let rang = started.elapsed();
    assert!(
        rang >= Duration::from_secs(58) && rang <= Duration::from_secs(60),
        "{rang:?}"
    );
    assert_eq!(h.rings().len(), 1 + 12, "{:?}", h.rings().len());
}

#[tokio::test(start_paused = true)]
async fn timers_survive_a_restart_and_ring_at_their_due_time() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut h = Harness::at(ButtonMode::Hold, state_dir, &at("2026-12-06 05:00"));
    h.tool(timer(600, Some("tea")), "en").await.unwrap();
    h.tool(
        tools::Call::SetAlarm {
            hour: 7,
            minute: 0,
            date: None,
            label: Some("wake up".into()),
        },
        "vi",
    )
    .await
    .unwrap();
    let state_dir = std::mem::replace(&mut h.state_dir, tempfile::tempdir().unwrap());
    drop(h);

    // Off for four minutes: both are still ahead.
    let mut h = Harness::at(ButtonMode::Hold, state_dir, &at("2026-12-06 05:04"));
    assert_eq!(h.status()["timers"], 2);
    assert_eq!(h.wait().await, Duration::from_secs(360));
    assert_eq!(h.rings(), ["Time's up: tea."]);
    h.post(Event::Button { pressed: true }).await;
    h.post(Event::Button { pressed: false }).await;
    // The alarm, in the language it was set in, at 07:00.
    assert_eq!(h.wait().await, Duration::from_secs(110 * 60));
    assert_eq!(h.rings(), ["Time's up: tea.", "Hết giờ: wake up."]);
}

#[tokio::test(start_paused = true)]
async fn one_missed_while_off_rings_at_start_said_as_missed_an_older_one_is_dropped() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut h = Harness::at(ButtonMode::Hold, state_dir, &at("2026-12-06 05:00"));
    h.tool(timer(60, Some("eggs")), "en").await.unwrap();
    h.tool(timer(20 * 60, Some("茶")), "zh").await.unwrap();
    h.tool(timer(3600, Some("later")), "en").await.unwrap();
    let state_dir = std::mem::replace(&mut h.state_dir, tempfile::tempdir().unwrap());
    drop(h);

    // Back at 05:25: eggs is 24 min late (dropped), tea 5 min (missed), later still ahead.
    let mut h = Harness::at(ButtonMode::Hold, state_dir, &at("2026-12-06 05:25"));
    let info = h.logs.info().join("\n");
    assert!(info.contains("timer dropped"), "{info}");
    assert!(
        info.contains("timer missed while the box was off"),
        "{info}"
    );
    assert_eq!(h.wait().await, Duration::ZERO, "rung at start");
    assert_eq!(h.rings(), ["我关机的时候，05:20 有一个提醒。 时间到：茶。"]);
    assert_eq!(h.status()["timers"], 1);
    let kept = std::fs::read_to_string(h.state_dir.path().join("timers.json")).unwrap();
    assert!(
        kept.contains("later") && !kept.contains("eggs") && !kept.contains("茶"),
        "{kept}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_alarm_rings_at_its_wall_time_across_a_dst_change() {
    // 01:00 on the night clocks go forward (02:00 → 03:00): 07:00 is five real hours away.
    let mut h = Harness::at(
        ButtonMode::Hold,
        tempfile::tempdir().unwrap(),
        &at("2026-03-29 01:00"),
    );
    let alarm = |hour| tools::Call::SetAlarm {
        hour,
        minute: 0,
        date: None,
        label: None,
    };
    let answer = h.tool(alarm(7), "en").await.unwrap();
    assert!(
        answer.contains("rings today at 07:00:00 (18000 s from now)"),
        "{answer}"
    );
    // 02:30 does not exist that night: it rings where it would have been, 03:30 (1.5 h real).
    h.tool(
        tools::Call::SetAlarm {
            hour: 2,
            minute: 30,
            date: None,
            label: Some("gap".into()),
        },
        "en",
    )
    .await
    .unwrap();
    assert_eq!(h.wait().await, Duration::from_secs(90 * 60));
    assert_eq!(h.rings(), ["Time's up: gap."]);
    h.post(Event::control(ControlCommand::Cancel)).await;
    assert_eq!(h.wait().await, Duration::from_secs(210 * 60));
    assert_eq!(h.rings(), ["Time's up: gap.", "Time's up."]);
    assert_eq!(
        h.app.keeper.clock.now().strftime("%H:%M %Z").to_string(),
        "07:00 CEST"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timer_due_during_a_reply_rings_as_soon_as_it_ends() {
    let mut h = Harness::new(ButtonMode::Toggle);
    h.tool(timer(5, Some("oven")), "en").await.unwrap();
    h.reach(State::Speaking).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    // The loop handles what came meanwhile (the turn's own timers), and the due timer.
    while h.app.keeper.len() > 0 || !h.app.events.is_empty() {
        h.step().await;
    }
    assert_eq!(h.state(), State::Speaking, "the reply goes on");
    assert!(h.rings().is_empty(), "not over the reply");
    assert_eq!(
        h.status()["timers"],
        0,
        "taken out: it waits in the machine"
    );
    h.post(spoken(1, heard(2))).await;
    assert_eq!(h.rings(), ["Time's up: oven."], "as soon as the reply ends");
    assert_eq!(h.state(), State::Ringing);
}

#[tokio::test(start_paused = true)]
async fn list_cancel_limits_and_volume_through_tool_calls() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.tool(timer(90, Some("tea")), "en").await.unwrap();
    h.tool(timer(30, None), "en").await.unwrap();
    let list = h.tool(tools::Call::ListTimers, "en").await.unwrap();
    assert_eq!(
        list,
        r#"[{"label":null,"due":"2026-12-06T05:00:30+01:00","seconds_left":30,"kind":"timer"},{"label":"tea","due":"2026-12-06T05:01:30+01:00","seconds_left":90,"kind":"timer"}]"#
    );
    let e = h
        .tool(
            tools::Call::CancelTimer {
                label: None,
                all: false,
            },
            "en",
        )
        .await
        .unwrap_err();
    assert!(e.contains("there are 2 timers"), "{e}");
    let ok = h
        .tool(
            tools::Call::CancelTimer {
                label: Some("tea".into()),
                all: false,
            },
            "en",
        )
        .await
        .unwrap();
    assert_eq!(ok, r#"cancelled 1 timer ["tea"]; 1 left"#);
    let kept = std::fs::read_to_string(h.state_dir.path().join("timers.json")).unwrap();
    assert!(!kept.contains("tea"), "{kept}");
    assert!(h.logs.info().join("\n").contains("timer cancelled"));

    // At most tools.max_timers (20).
    for _ in 1..20 {
        h.tool(timer(3600, None), "en").await.unwrap();
    }
    let e = h.tool(timer(3600, None), "en").await.unwrap_err();
    assert!(e.contains("too many timers: at most 20"), "{e}");
    assert_eq!(h.status()["timers"], 20);

    let v = h
        .tool(
            tools::Call::SetVolume(crate::event::VolumeChange::Set(40)),
            "en",
        )
        .await;
    assert_eq!(v.unwrap(), "volume set to 40 %");
    assert_eq!(h.log.borrow().volume, Some(40));
}

#[tokio::test(start_paused = true)]
async fn twenty_pending_timers_cost_one_sleep_until_the_soonest() {
    let mut h = Harness::new(ButtonMode::Hold);
    for i in 0..20 {
        h.tool(timer(600 + 60 * i, None), "en").await.unwrap();
    }
    // Nothing wakes the loop before the soonest is due: one step, ten minutes.
    assert_eq!(h.wait().await, Duration::from_secs(600));
    assert_eq!(h.rings().len(), 1);
    assert_eq!(h.status()["timers"], 19);
}

#[tokio::test(start_paused = true)]
async fn the_speaker_is_readied_ahead_of_a_timer_kept_across_a_restart() {
    let state_dir = tempfile::tempdir().unwrap();
    let mut h = Harness::at(ButtonMode::Hold, state_dir, &at("2026-12-06 05:00"));
    h.tool(timer(15, Some("good night")), "en").await.unwrap();
    let state_dir = std::mem::replace(&mut h.state_dir, tempfile::tempdir().unwrap());
    drop(h);

    // Restarted at once (as `systemctl restart`): the new daemon's output was never opened.
    let mut h = Harness::at(ButtonMode::Hold, state_dir, &at("2026-12-06 05:00"));
    let start = tokio::time::Instant::now();
    h.step().await;
    assert_eq!(
        h.readied(),
        [(start + Duration::from_secs(10), Duration::from_secs(10))],
        "readied tools.ring_ready_s (5 s) before the due time, held 5 s past it"
    );
    assert!(h.calls().is_empty(), "readying makes no sound");
    assert_eq!(h.state(), State::Idle);
    assert!(
        h.logs
            .lines()
            .join("\n")
            .contains("a timer is due soon: readying the speaker left_ms=5000"),
        "{:?}",
        h.logs.lines()
    );

    // Then it rings at its due time, once readied only.
    h.step().await;
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    assert_eq!(h.rings(), ["Time's up: good night."]);
    assert_eq!(h.readied().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_timer_set_nearer_than_the_lead_readies_the_speaker_at_once() {
    let mut h = Harness::new(ButtonMode::Hold);
    h.tool(timer(3, None), "en").await.unwrap();
    let start = tokio::time::Instant::now();
    // The next pass readies it first thing, then sleeps until the due time.
    assert_eq!(h.wait().await, Duration::from_secs(3));
    assert_eq!(
        h.readied(),
        [(start, Duration::from_secs(8))],
        "at once, held until 5 s past its due time"
    );
    assert_eq!(h.rings(), ["Time's up."]);
}
