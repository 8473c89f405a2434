//! Throughput of the speech text path (cleanup, sentence cutting, language detection) on
//! replies of growing size and on hostile shapes, with criterion: time per byte must stay flat
//! as the input grows, so a quadratic change shows up as MiB/s falling off.
//! `cargo bench --bench text_throughput`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use voicebox::text::cleanup;
use voicebox::text::lang::{Context, Languages};
use voicebox::text::sentences::{self, Limits, Rules, Splitter};

/// A reply paragraph with the things cleanup and the splitter work on: markdown, numbers,
/// abbreviations, a URL, dashes, a list and a long clause-heavy sentence.
const PARAGRAPH: &str = "Sure! Here is **how** to keep basil healthy indoors, e.g. on a sill. \
Place the pot on a sunny windowsill where it gets at least 6 hours of light every day (Dr. Smith \
says 8). Water it whenever the top inch of soil feels dry — but never let the roots sit in water; \
see https://example.com/basil for more.\n\n- Pinch off the flower buds as soon as they appear, \
because flowering makes the leaves bitter, and bitter leaves, as everyone knows, are not what \
you want in a pesto, a salad, or a sauce that you have cooked for hours on a Sunday afternoon.\n\
- Harvest from the top of each stem so the plant grows bushier instead of taller. `code` ok? \
Yes... 3.5 cm is fine.\n";

/// The same kind of reply in three languages, switching sentence by sentence.
const MIXED: &str = "好的！罗勒喜欢阳光，每天至少需要六个小时的光照。Water it when the top inch \
of soil feels dry. Hãy tưới nước khi lớp đất mặt khô, nhưng đừng để rễ ngập nước. 你可以用Python写\
一个提醒程序，每天早上提醒你浇水。Pinch off the flower buds, because flowering makes the leaves \
bitter. Chúc bạn thành công!\n";

fn repeat(unit: &str, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + unit.len());
    while s.len() < bytes {
        s.push_str(unit);
    }
    s
}

const SIZES: [usize; 4] = [1 << 10, 8 << 10, 64 << 10, 512 << 10];

fn rules() -> Rules {
    Rules {
        limits: Limits::from_secs(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(15),
        ),
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    }
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let mut g = c.benchmark_group("cleanup::for_speech");
    for size in SIZES {
        let text = repeat(PARAGRAPH, size);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| {
            b.iter(|| cleanup::for_speech(black_box(t)))
        });
    }
    g.finish();

    // The whole text path: cleanup, cutting, and each sentence's language.
    let mut g = c.benchmark_group("sentences::split");
    for (name, unit) in [("english", PARAGRAPH), ("mixed", MIXED)] {
        for size in SIZES {
            let text = repeat(unit, size);
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(name, size), &text, |b, t| {
                b.iter(|| sentences::split(black_box(t), &rules))
            });
        }
    }
    g.finish();

    // Language detection alone, over the sentences `split` makes of the same text: its share
    // of the `split` figures above.
    let mut g = c.benchmark_group("lang::detect");
    for (name, unit) in [("english", PARAGRAPH), ("mixed", MIXED)] {
        let size = 64 << 10;
        let text = repeat(unit, size);
        let texts: Vec<String> = sentences::split(&text, &rules)
            .into_iter()
            .map(|s| s.text)
            .collect();
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new(name, size), &texts, |b, texts| {
            b.iter(|| {
                let mut context = Context::default();
                for t in texts {
                    black_box(rules.languages.detect(black_box(t), &mut context));
                }
            })
        });
    }
    g.finish();

    // A streamed reply, pushed as Ollama sends it (a few bytes per token).
    let mut g = c.benchmark_group("Splitter::push");
    for size in [8 << 10, 64 << 10] {
        let text = repeat(MIXED, size);
        let tokens: Vec<String> = text
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect())
            .collect();
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("4-char tokens", size),
            &tokens,
            |b, tokens| {
                b.iter(|| {
                    let mut s = Splitter::new(&rules);
                    let mut n = 0;
                    for t in tokens {
                        n += s.push(black_box(t)).len();
                    }
                    n + s.finish().len()
                })
            },
        );
    }
    g.finish();

    // Hostile shapes: each was quadratic or worse once (mark runs before a glued letter, `[`
    // runs before a `](`, text without any punctuation cut only at the limit, ...).
    let mut g = c.benchmark_group("hostile");
    for (name, unit, tail) in [
        ("marks .!", ".!", "a"),
        ("brackets [", "[", "](x)"),
        ("backticks", "`` ", "x"),
        ("links [a](", "[a](", ""),
        ("initials a.", "a. ", ""),
        ("no punctuation", "word ", ""),
        ("han no punctuation", "好", ""),
        ("commas", ", ", ""),
    ] {
        for size in [64 << 10, 256 << 10] {
            let text = repeat(unit, size) + tail;
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(name, size), &text, |b, t| {
                b.iter(|| sentences::split(black_box(t), &rules))
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
