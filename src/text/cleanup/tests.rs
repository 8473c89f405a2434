//! Table and property tests for the cleanup: what each markdown or hostile shape becomes, and
//! that chunked input gives the batch output (its time on hostile shapes is tested with the
//! splitter's, in `sentences/tests.rs`).

use super::*;

#[test]
fn table() {
    let cases: &[(&str, &str)] = &[
        ("plain text.", "plain text."),
        (
            "**bold** and *italic* and __strong__ and _em_",
            "bold and italic and strong and em",
        ),
        ("~~gone~~ stays", "gone stays"),
        ("# Title\nBody.", "Title\nBody."),
        ("### Deep heading", "Deep heading"),
        ("#hashtag stays", "#hashtag stays"),
        ("- one\n- two\n* three\n+ four", "one\ntwo\nthree\nfour"),
        ("1. first\n2) second\n10. tenth", "first\nsecond\ntenth"),
        ("- [x] done\n- [ ] todo", "done\ntodo"),
        ("> quoted text", "quoted text"),
        ("Run `ls` now.", "Run ls now."),
        (
            "Use `let x = vec![1, 2, 3].iter().map(f).collect();` here.",
            "Use Code omitted. here.",
        ),
        (
            "Text\n```rust\nfn main() {}\n```\nAfter.",
            "Text\nCode omitted.\nAfter.",
        ),
        ("```\nunclosed fence\nstill code", "Code omitted."),
        (
            "See [the docs](https://docs.rs/x) now.",
            "See the docs now.",
        ),
        ("![a cat](cat.png) sleeps", "a cat sleeps"),
        (
            "Visit https://www.example.com/path?q=1.",
            "Visit example.com.",
        ),
        ("Go to http://localhost:8080/x now", "Go to localhost now"),
        ("see www.rust-lang.org, ok", "see rust-lang.org, ok"),
        ("file:///etc", "file:///etc"),
        ("https:// broken", "link broken"),
        ("Great 😀👍🏽 job 🇫🇷!", "Great job !"),
        ("I ❤️ tea ☕.", "I tea ."),
        ("family 👨‍👩‍👧 here", "family here"),
        ("Really!!!", "Really!"),
        ("What?!?", "What?"),
        ("Wait.... what", "Wait... what"),
        ("Hmm,,, ok;;", "Hmm, ok;"),
        ("好的！！！真的？？", "好的！真的？"),
        ("结束。。。", "结束。"),
        ("a   b\t\tc", "a b c"),
        ("\n\n  spaced  \n\n\n out \n", "spaced\nout"),
        ("-5 degrees", "−5 degrees"),
        ("a\t-b c\u{3000}-d", "a b c d"),
        ("-w /x hi", "w /x hi"),
        ("Yes. -v please", "Yes. v please"),
        ("say [[h@loU]] now", "say h@loU now"),
        ("a | b | c", "a, b, c"),
        ("| x | y |", "x, y,"),
        ("|---|:--:|", ""),
        ("---", ""),
        ("snake_case_name", "snake case name"),
        ("x -> y => z <- w", "x y z w"),
        (
            "$(touch /tmp/x) `rm -rf /`; ls | cat > f",
            "$(touch /tmp/x) rm rf /; ls, cat > f",
        ),
        ("Xin chào! Bạn khỏe không?", "Xin chào! Bạn khỏe không?"),
        ("日本語の**テスト**です。", "日本語のテストです。"),
        ("", ""),
    ];
    for (input, want) in cases {
        assert_eq!(&for_speech(input), want, "input: {input:?}");
    }
}

#[test]
fn nothing_left_starts_with_a_dash_or_holds_double_brackets() {
    for input in ["- - -x", "--help", "-", "[[[a]]]", "- -5", "—-x"] {
        let out = for_speech(input);
        assert!(
            !out.split_whitespace().any(|w| w.starts_with('-')),
            "{input:?} -> {out:?}"
        );
        assert!(!out.contains("[["), "{input:?} -> {out:?}");
    }
}

proptest::proptest! {
    #[test]
    fn any_text_is_cleaned_without_panics_or_espeak_traps(
        text in "(\\PC|[-\\[\\]`*_#>|\n\t\u{3000} (){}!?.])*"
    ) {
        let out = for_speech(&text);
        proptest::prop_assert!(!out.contains("[["));
        proptest::prop_assert!(!out.split_whitespace().any(|w| w.starts_with('-')), "{:?}", out);
        proptest::prop_assert_eq!(out.trim(), out.as_str());
    }
}

#[test]
fn control_characters_are_never_spoken() {
    let cases: &[(&str, &str)] = &[
        ("Hello\0 world.", "Hello world."),
        ("a\0b", "ab"),
        ("\u{1b}[31mred\u{1b}[0m text", "red text"),
        ("one\r\ntwo\rthree", "one\ntwo three"),
        ("bell\u{7}\u{85}\u{9f} end", "bell end"),
        ("tab\tand\u{0c}feed", "tab and feed"),
    ];
    for (input, want) in cases {
        assert_eq!(&for_speech(input), want, "input: {input:?}");
    }
}

#[test]
fn what_no_engine_should_read_is_gone_and_the_rest_normalised() {
    let cases: &[(&str, &str)] = &[
        // Whole escape sequences: colours, cursor moves, charsets, titles (BEL or ST ends).
        ("\u{1b}[1;31mAlarm:\u{1b}[0m hot.", "Alarm: hot."),
        ("a\u{1b}[2Kb\u{1b}[10;20Hc", "abc"),
        ("\u{1b}(Bplain \u{1b}cok", "plain ok"),
        ("\u{1b}]0;my title\u{7}Hi.", "Hi."),
        (
            "\u{1b}]8;;https://x.y\u{1b}\\link\u{1b}]8;;\u{1b}\\ here",
            "link here",
        ),
        ("\u{9b}32mgreen", "green"),
        // A sequence broken off by a line break or a letter of another script ends there.
        ("\u{1b}[31\nnext", "next"),
        ("\u{1b}[3好的", "好的"),
        // Invisible characters inside words.
        ("choco\u{200B}late co\u{2060}ffee", "chocolate coffee"),
        ("\u{FEFF}Hello\u{AD}world", "Helloworld"),
        (
            "\u{202E}Hello\u{202C} \u{2067}world\u{2069}\u{200F}.",
            "Hello world.",
        ),
        // NFC: decomposed Vietnamese, composed.
        (
            "To\u{302}i thi\u{301}ch Ha\u{300} No\u{323}\u{302}i",
            "Tôi thích Hà Nội",
        ),
        // NFKC for fullwidth letters and digits and halfwidth kana; fullwidth punctuation stays.
        ("２０２５年，ＡＢＣ！", "2025年，ABC！"),
        ("ｶﾞｽ", "ガス"),
        // A lone `#` is not said; one that belongs to a word is.
        ("One. # Two. ## Three.", "One. Two. Three."),
        ("Step #1 in C# and #tag.", "Step #1 in C# and #tag."),
    ];
    for (input, want) in cases {
        assert_eq!(&for_speech(input), want, "input: {input:?}");
    }
}

#[test]
fn a_tone_mark_in_the_next_chunk_still_composes() {
    let text = "Ba\u{323}n kho\u{309}e kho\u{302}ng? \u{1b}[31mĐo\u{309} ｶﾞ ２";
    let want = for_speech(text);
    assert_eq!(want, "Bạn khỏe không? Đỏ ガ 2");
    for cut in 0..=text.chars().count() {
        assert_eq!(chunked(text, &[cut]), want, "cut at {cut}");
    }
}

#[test]
fn hostile_runs_of_marks_and_escapes_stay_bounded() {
    let marks = format!("a{}", "\u{301}".repeat(100_000));
    assert!(for_speech(&marks).starts_with('á'));
    let title = format!("\u{1b}]0;{}", "x".repeat(1000));
    // "0;" and 254 of the x are the title; the rest is text again.
    assert_eq!(for_speech(&title), "x".repeat(1000 - 254));
}

/// Cleans `text` pushed in pieces cut at the given character positions.
fn chunked(text: &str, cuts: &[usize]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut cleaner = Cleaner::default();
    let mut out = String::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.min(chars.len()).max(start);
        let piece: String = chars[start..cut].iter().collect();
        cleaner.push(&piece, &mut |c| out.push(c));
        start = cut;
    }
    let rest: String = chars[start..].iter().collect();
    cleaner.push(&rest, &mut |c| out.push(c));
    cleaner.finish(&mut |c| out.push(c));
    out
}

#[test]
fn every_split_of_the_table_inputs_gives_the_same_text() {
    let inputs = [
        "# Title\n- [x] done\n> > quoted `code` here\n|---|:--:|\n---\n12) item",
        "See [the docs](https://docs.rs/x) and ![a cat](cat.png)! Visit https://www.example.com/p?q=1.",
        "```rust\nfn main() {}\n```\nAfter `let x = vec![1, 2, 3].iter().map(f).collect();` ok",
        "Really!!! What?!? Wait.... a -> b | c __x__ snake_case -5 --help 😀👍🏽",
    ];
    for text in inputs {
        let want = for_speech(text);
        let n = text.chars().count();
        for cut in 0..=n {
            assert_eq!(chunked(text, &[cut]), want, "cut at {cut} of {text:?}");
        }
    }
}

proptest::proptest! {
    #[test]
    fn chunking_never_changes_the_text(
        text in "(\\PC|[-\\[\\]`*_#>|\n\t (){}!?.:h/w\u{1b}\u{301}\u{200B}\u{FF9E}])*",
        mut cuts in proptest::collection::vec(0usize..80, 0..6),
    ) {
        cuts.sort_unstable();
        proptest::prop_assert_eq!(chunked(&text, &cuts), for_speech(&text));
    }
}
