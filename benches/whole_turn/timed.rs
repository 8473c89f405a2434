//! Hooks timed from outside voicebox: the bench binary runs itself as a wrapper around the STT
//! and TTS programs (`--timed LOG NAME PROGRAM ARGS...`) and notes when the program started and
//! when it exited. stdin, stdout and stderr are inherited, so the program sees exactly what
//! voicebox sends and voicebox reads exactly what it writes.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const FLAG: &str = "--timed";

/// Wrapper mode (`args` after the flag: LOG NAME PROGRAM ARGS...): runs the program, appends
/// `NAME START_NS END_NS` to LOG, exits with its status.
pub fn wrapper_main(args: &[String]) -> ! {
    let [log, name, program, rest @ ..] = args else {
        eprintln!("usage: {FLAG} LOG NAME PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let start = SystemTime::now();
    let status = Command::new(program).args(rest).status();
    let end = SystemTime::now();
    let line = format!("{name} {} {}\n", ns(start), ns(end));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = f.write_all(line.as_bytes());
    }
    std::process::exit(match status {
        Ok(s) => s.code().unwrap_or(1),
        Err(_) => 127,
    })
}

/// `program` run under the wrapper, logging as `name`.
pub fn argv(log: &Path, name: &str, program: &[String]) -> Vec<String> {
    let me = std::env::current_exe().expect("the bench binary");
    let mut v = vec![
        me.display().to_string(),
        FLAG.into(),
        log.display().to_string(),
        name.into(),
    ];
    v.extend(program.iter().cloned());
    v
}

/// When a program ran.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: SystemTime,
    pub end: SystemTime,
}

/// Every run of `name` logged so far, in order.
pub fn spans(log: &Path, name: &str) -> Vec<Span> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            (w.next()? == name).then_some(())?;
            let start = from_ns(w.next()?.parse().ok()?);
            let end = from_ns(w.next()?.parse().ok()?);
            Some(Span { start, end })
        })
        .collect()
}

/// What the wrapper adds to one hook run (voicebox's share carries it): the median, over `n`
/// runs, of running `true` through the wrapper minus running it directly.
pub fn overhead(log: &Path, n: usize) -> Duration {
    let time = |argv: &[String]| {
        let t0 = Instant::now();
        let _ = Command::new(&argv[0]).args(&argv[1..]).status();
        t0.elapsed()
    };
    let direct = vec!["true".to_string()];
    let wrapped = argv(log, "overhead", &direct);
    let mut diffs: Vec<f64> = (0..n)
        .map(|_| time(&wrapped).as_secs_f64() - time(&direct).as_secs_f64())
        .collect();
    diffs.sort_by(f64::total_cmp);
    Duration::from_secs_f64(diffs[n / 2].max(0.0))
}

pub fn ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub fn from_ns(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}
