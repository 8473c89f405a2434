//! Every tracing event of the process with the wall-clock time it was emitted: the daemon's
//! own DEBUG lines are the stage marks (capture finished, sentence played, turn summary).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

#[derive(Debug, Clone)]
pub struct Record {
    pub at: SystemTime,
    pub message: String,
    pub fields: HashMap<String, String>,
}

impl Record {
    pub fn num(&self, name: &str) -> Option<u64> {
        self.fields.get(name)?.parse().ok()
    }
}

/// The records so far; install once per process.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Record>>>);

impl Recorder {
    pub fn install() -> Recorder {
        let recorder = Recorder::default();
        let layer = recorder
            .clone()
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        recorder
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The first record from index `from` on with this message that `want` accepts.
    pub fn find(
        &self,
        from: usize,
        message: &str,
        want: impl Fn(&Record) -> bool,
    ) -> Option<Record> {
        let all = self.0.lock().unwrap();
        all[from.min(all.len())..]
            .iter()
            .find(|r| r.message == message && want(r))
            .cloned()
    }

    /// `find`, waiting up to `limit` for it.
    pub fn wait(
        &self,
        from: usize,
        message: &str,
        limit: Duration,
        want: impl Fn(&Record) -> bool,
    ) -> anyhow::Result<Record> {
        let end = Instant::now() + limit;
        loop {
            if let Some(r) = self.find(from, message, &want) {
                return Ok(r);
            }
            if Instant::now() >= end {
                let seen: Vec<String> = self.0.lock().unwrap()[from..]
                    .iter()
                    .map(|r| format!("{} {:?}", r.message, r.fields))
                    .collect();
                anyhow::bail!("no {message:?} within {limit:?}; since then: {seen:#?}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let at = SystemTime::now();
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(Record {
            at,
            message: fields.message,
            fields: fields.values,
        });
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    values: HashMap<String, String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.values.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.values.insert(field.name().into(), text);
        }
    }
}
