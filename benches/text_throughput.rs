//! Throughput of the sentence splitter and the speech cleanup on replies of growing size, with
//! criterion: time per byte must stay flat as the input grows, so a quadratic change shows up
//! as a rising MiB/s curve falling off. `cargo bench --bench text_throughput`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use voicebox::speech::{cleanup, sentences};

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

fn reply(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + PARAGRAPH.len());
    while s.len() < bytes {
        s.push_str(PARAGRAPH);
    }
    s
}

const SIZES: [usize; 4] = [1 << 10, 8 << 10, 64 << 10, 512 << 10];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("cleanup::for_speech");
    for size in SIZES {
        let text = reply(size);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| {
            b.iter(|| cleanup::for_speech(black_box(t)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sentences::split");
    for size in SIZES {
        let text = cleanup::for_speech(&reply(size));
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &text, |b, t| {
            b.iter(|| sentences::split(black_box(t), 12, 240))
        });
    }
    // The worst case for the clause search: text without any punctuation, cut only at
    // max_chars; sizes grow so that a scan of the whole remainder per cut shows as quadratic.
    for size in [4 << 10, 16 << 10, 64 << 10] {
        let flat = "word ".repeat(size / 5);
        g.throughput(Throughput::Bytes(flat.len() as u64));
        g.bench_with_input(BenchmarkId::new("no_punctuation", size), &flat, |b, t| {
            b.iter(|| sentences::split(black_box(t), 12, 240))
        });
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
