//! Tests for the sentence cutter and the splitter: the splitting rules as a table, merging
//! and cutting by speaking time, and properties over any text, any chunking, mixed scripts.

use proptest::prelude::*;

use super::*;

/// Cuts already clean text with the cutter alone.
fn cut(text: &str, limits: Limits) -> Vec<String> {
    let mut cutter = cutter::Cutter::new(limits);
    let mut out = Vec::new();
    for c in text.chars() {
        cutter.put(c, &mut |s| out.push(s));
    }
    cutter.finish(&mut |s| out.push(s));
    out
}

/// No merging, no cutting: the splitting rules alone.
const LOOSE: Limits = Limits {
    min: 0,
    max: 100_000,
    max_chars: 100_000,
};

/// The defaults: 1 s and 15 s.
const DEFAULT: Limits = Limits {
    min: 16,
    max: 240,
    max_chars: 480,
};

const TABLE: &[(&str, &[&str])] = &[
    // English
    (
        "Hello there. How are you?",
        &["Hello there.", "How are you?"],
    ),
    ("Stop! Now.", &["Stop!", "Now."]),
    ("Really?! Yes.", &["Really?!", "Yes."]),
    (
        "Dr. Smith is here. He waits.",
        &["Dr. Smith is here.", "He waits."],
    ),
    ("Mr. and Mrs. Jones left.", &["Mr. and Mrs. Jones left."]),
    (
        "Use tools, e.g. a hammer. Then rest.",
        &["Use tools, e.g. a hammer.", "Then rest."],
    ),
    (
        "That is, i.e. the end. Next.",
        &["That is, i.e. the end.", "Next."],
    ),
    (
        "Apples, pears, etc. are fruit.",
        &["Apples, pears, etc. are fruit."],
    ),
    (
        "I like fruit etc. Then I eat.",
        &["I like fruit etc.", "Then I eat."],
    ),
    (
        "Pi is 3.14 roughly. Nice.",
        &["Pi is 3.14 roughly.", "Nice."],
    ),
    (
        "Update to 1.2.3 today. Done.",
        &["Update to 1.2.3 today.", "Done."],
    ),
    ("Wait... what? Yes.", &["Wait... what?", "Yes."]),
    ("I see... Then we go.", &["I see...", "Then we go."]),
    (
        "He said \"Go.\" Then left.",
        &["He said \"Go.\"", "Then left."],
    ),
    ("(It works.) Good.", &["(It works.)", "Good."]),
    (
        "J. R. R. Tolkien wrote it. Yes.",
        &["J. R. R. Tolkien wrote it.", "Yes."],
    ),
    (
        "See example.com for more. Bye.",
        &["See example.com for more.", "Bye."],
    ),
    (
        "first item\nsecond item\nthird",
        &["first item", "second item", "third"],
    ),
    ("No terminator at all", &["No terminator at all"]),
    ("Ends with space.   ", &["Ends with space."]),
    (
        "Temperature is -5 degrees. Cold!",
        &["Temperature is -5 degrees.", "Cold!"],
    ),
    ("It is 5 p.m. now.", &["It is 5 p.m. now."]),
    ("So do I. The end.", &["So do I.", "The end."]),
    ("The answer is no. Sorry.", &["The answer is no.", "Sorry."]),
    // Chinese
    (
        "你好。今天天气很好！你呢？",
        &["你好。", "今天天气很好！", "你呢？"],
    ),
    ("我想想…好吧。", &["我想想…", "好吧。"]),
    (
        "他说：“走吧。”然后走了。",
        &["他说：“走吧。”", "然后走了。"],
    ),
    ("第一；第二。", &["第一；", "第二。"]),
    ("价格是3.5元。很便宜。", &["价格是3.5元。", "很便宜。"]),
    ("我喜欢Rust。It is fast.", &["我喜欢Rust。", "It is fast."]),
    ("真的吗？！是的。", &["真的吗？！", "是的。"]),
    ("一\n二\n三", &["一", "二", "三"]),
    // Japanese
    (
        "こんにちは。元気ですか？",
        &["こんにちは。", "元気ですか？"],
    ),
    ("「はい。」と言った。", &["「はい。」", "と言った。"]),
    ("すごい！本当に？", &["すごい！", "本当に？"]),
    ("東京は大きい｡大阪も｡", &["東京は大きい｡", "大阪も｡"]),
    ("ええと…そうですね。", &["ええと…", "そうですね。"]),
    // Vietnamese
    (
        "Xin chào. Bạn khỏe không?",
        &["Xin chào.", "Bạn khỏe không?"],
    ),
    (
        "Tôi ở TP. Hồ Chí Minh. Còn bạn?",
        &["Tôi ở TP. Hồ Chí Minh.", "Còn bạn?"],
    ),
    (
        "Giá là 3.5 triệu! Đắt quá.",
        &["Giá là 3.5 triệu!", "Đắt quá."],
    ),
    ("Ừ... Được rồi.", &["Ừ...", "Được rồi."]),
    (
        "Đây là câu một.\nĐây là câu hai.",
        &["Đây là câu một.", "Đây là câu hai."],
    ),
    // Edge cases
    ("", &[]),
    ("   \n\n  ", &[]),
    // Punctuation with no word to go with is not sent to an engine at all.
    ("...", &[]),
    ("?!", &[]),
    ("Yes. 】", &["Yes.】"]),
    (".Hello", &[".Hello"]),
];

#[test]
fn table() {
    assert!(TABLE.len() >= 40);
    for (input, want) in TABLE {
        assert_eq!(cut(input, LOOSE), *want, "input: {input:?}");
    }
}

#[test]
fn short_fragments_run_on_into_the_next_sentence() {
    let cases: &[(&str, &[&str])] = &[
        ("Yes. I will do that now.", &["Yes. I will do that now."]),
        ("好。我们走吧现在就走。", &["好。我们走吧现在就走。"]),
        ("Hi. Yo. Hey.", &["Hi. Yo. Hey."]),
        (
            "This one is long enough. And so is this.",
            &["This one is long enough.", "And so is this."],
        ),
        // An ordinary Chinese question (~2.5 s of speech) is a whole sentence.
        (
            "你觉得这个主意怎么样？我觉得很好。",
            &["你觉得这个主意怎么样？", "我觉得很好。"],
        ),
        // A sentence is spoken once the next letter arrives: a short last one stays alone
        // (streaming cannot wait to see whether it is the last).
        ("I will do that now. Ok.", &["I will do that now.", "Ok."]),
        // Fragments without letters go with the sentence before them.
        ("I will do that now. 42.", &["I will do that now. 42."]),
        ("我想好了。……", &["我想好了。……"]),
        ("Look at this.\n】", &["Look at this.】"]),
        // ... or after it, when there is none before.
        ("42. That is the answer.", &["42. That is the answer."]),
        // Digits alone are a reply of their own.
        ("42", &["42"]),
        ("一\n二", &["一二"]),
        ("one\ntwo", &["one two"]),
    ];
    for (input, want) in cases {
        assert_eq!(cut(input, DEFAULT), *want, "input: {input:?}");
    }
}

#[test]
fn a_short_sentence_never_runs_on_into_another_script() {
    let cases: &[(&str, &[&str])] = &[
        (
            "你呢？Tôi thích Hà Nội lắm.",
            &["你呢？", "Tôi thích Hà Nội lắm."],
        ),
        (
            "好。I will go to the market.",
            &["好。", "I will go to the market."],
        ),
        (
            "好。对。I will go to the market.",
            &["好。对。", "I will go to the market."],
        ),
        (
            "Yes. 好的，我们现在就走吧。",
            &["Yes.", "好的，我们现在就走吧。"],
        ),
        (
            "好\nI will go to the market.",
            &["好", "I will go to the market."],
        ),
        (
            "はい。(Yes, I will come with you.)",
            &["はい。", "(Yes, I will come with you.)"],
        ),
        // Han and kana are one script here (Japanese mixes them); Latin is Latin.
        ("東京。はい、行きます。", &["東京。はい、行きます。"]),
        ("Ok. Tôi thích Hà Nội lắm.", &["Ok. Tôi thích Hà Nội lắm."]),
    ];
    for (input, want) in cases {
        assert_eq!(cut(input, DEFAULT), *want, "input: {input:?}");
    }
    let rules = Rules {
        limits: DEFAULT,
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    };
    let langs: Vec<String> = split("你呢？Tôi thích Hà Nội lắm.", &rules)
        .into_iter()
        .map(|s| s.lang)
        .collect();
    assert_eq!(langs, ["zh", "vi"]);
}

#[test]
fn a_notice_after_a_cut_reply_is_a_sentence_of_its_own() {
    let rules = Rules {
        limits: DEFAULT,
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    };
    let texts = |v: Vec<Sentence>| v.into_iter().map(|s| s.text).collect::<Vec<_>>();
    // A line break before the notice is not enough: a short fragment runs on into it.
    assert_eq!(
        texts(split("Then\nThe answer was cut off.", &rules)),
        ["Then The answer was cut off."]
    );
    for (arrived, notice, want) in [
        (
            "The sky is blue because of scattering. Then",
            "The answer was cut off.",
            &[
                "The sky is blue because of scattering.",
                "Then",
                "The answer was cut off.",
            ][..],
        ),
        (
            "天空是蓝色的，因为",
            "回答被中断了。",
            &["天空是蓝色的，因为", "回答被中断了。"],
        ),
        ("Then", "", &["Then"]),
    ] {
        let mut s = Splitter::new(&rules);
        let mut got = s.push(arrived);
        got.extend(s.finish_with(Some(notice)));
        assert_eq!(texts(got), want, "{arrived:?}");
    }
}

#[test]
fn a_sentence_its_mark_and_blank_end_is_released_when_the_text_pauses() {
    let rules = Rules {
        limits: DEFAULT,
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    };
    let texts = |v: Vec<Sentence>| v.into_iter().map(|s| s.text).collect::<Vec<_>>();
    // (what arrived, released at once when nothing more comes, released after the pause)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "It will rain in the morning. ",
            &["It will rain in the morning."],
            &[],
        ),
        ("Bring a coat!\n", &["Bring a coat!"], &[]),
        // A Chinese mark may be followed by a closing quote: that waits for the pause.
        ("我们明天早上九点开门。", &[], &["我们明天早上九点开门。"]),
        ("He said \"go now.", &[], &["He said \"go now."]),
        // "etc." ends a sentence only before a capital; "Dr." never does.
        (
            "I like apples, pears etc. ",
            &[],
            &["I like apples, pears etc."],
        ),
        ("Go and see the Dr. ", &[], &[]),
        // A short sentence still runs on into the next.
        ("Yes. ", &[], &[]),
    ];
    for (arrived, at_once, after_pause) in cases {
        let mut s = Splitter::new(&rules);
        assert_eq!(texts(s.push(arrived)), Vec::<String>::new(), "{arrived:?}");
        assert_eq!(texts(s.release()), *at_once, "{arrived:?} at once");
        assert_eq!(texts(s.settle()), *after_pause, "{arrived:?} after a pause");
    }
    // What comes after a release is cut as before.
    let mut s = Splitter::new(&rules);
    let mut got = s.push("It will rain in the morning. ");
    got.extend(s.release());
    got.extend(s.push("Take an umbrella with you. Yes. I will."));
    got.extend(s.finish());
    assert_eq!(
        texts(got),
        [
            "It will rain in the morning.",
            "Take an umbrella with you.",
            "Yes. I will."
        ]
    );
}

#[test]
fn long_sentences_cut_at_clause_then_space_then_hard() {
    let units = |max| Limits {
        min: 0,
        max,
        max_chars: 100_000,
    };
    let chars = |max_chars| Limits {
        min: 0,
        max: 100_000,
        max_chars,
    };
    let cases: &[(&str, Limits, &[&str])] = &[
        // Words are 6 units each: "one two three," is 18, over half of 30.
        (
            "one two three, four five six seven eight",
            units(30),
            &["one two three,", "four five six seven eight"],
        ),
        // CJK characters are 4 units each.
        (
            "一二三四五，六七八九十一二三四五",
            units(40),
            &["一二三四五，", "六七八九十一二三四五"],
        ),
        (
            "abcdefghijklmnopqrstuvwxyz",
            chars(10),
            &["abcdefghij", "klmnopqrst", "uvwxyz"],
        ),
        (
            "aaaa bbbb cccc dddd",
            chars(10),
            &["aaaa bbbb", "cccc dddd"],
        ),
        // A sentence end is the best cut.
        (
            "Hello there my friend. and then a long tail of words",
            units(60),
            &["Hello there my friend.", "and then a long tail of words"],
        ),
    ];
    for (input, limits, want) in cases {
        assert_eq!(cut(input, *limits), *want, "input: {input:?}");
    }
}

#[test]
fn speaking_time_is_the_same_measure_in_every_script() {
    // 15 s is 60 syllables: 60 Han characters, or 40 English words.
    let han = "我".repeat(61);
    assert_eq!(
        cut(&han, DEFAULT)
            .iter()
            .map(|s| s.chars().count())
            .collect::<Vec<_>>(),
        [60, 1]
    );
    let english = vec!["word"; 41].join(" ");
    let out = cut(&english, DEFAULT);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].split(' ').count(), 40);
}

#[test]
fn the_splitter_cleans_and_labels_each_sentence() {
    let rules = Rules {
        limits: DEFAULT,
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    };
    let got: Vec<(String, String)> = split(
        "**Hello** there, my friend. 你觉得这个主意怎么样？こんにちは、元気ですか。Xin lỗi, tôi không nghe rõ.",
        &rules,
    )
    .into_iter()
    .map(|s| (s.lang, s.text))
    .collect();
    let want = [
        ("en", "Hello there, my friend."),
        ("zh", "你觉得这个主意怎么样？"),
        ("ja", "こんにちは、元気ですか。"),
        ("vi", "Xin lỗi, tôi không nghe rõ."),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn hostile_text_costs_no_more_than_ordinary_text() {
    // Each shape was quadratic or worse once, in the cleanup or the cutting: `[` runs before a
    // `](` (53 s at 256 KiB), ".!" runs before a glued letter (95 s), unclosed backticks,
    // URL-like words, rule-like lines, initials, text cut only at the limit. At 256 KiB a
    // quadratic path costs hundreds of times what ordinary text does; a linear one about the
    // same per byte (the bound leaves room for a busy machine).
    let rules = Rules {
        limits: DEFAULT,
        languages: Languages {
            latin: "en".into(),
            han: "zh".into(),
        },
    };
    let size = 256 << 10;
    let time = |text: &str| {
        (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                std::hint::black_box(split(text, &rules));
                started.elapsed()
            })
            .min()
            .unwrap()
    };
    let ordinary = time(&"Hello there, how are you today? Fine. ".repeat(size / 38));
    for (unit, tail) in [
        ("[", "](x)"),
        ("[a](", ""),
        (".!", "a"),
        ("`` ", "x"),
        ("http://", " x"),
        ("-", "\n"),
        ("> ", "x"),
        ("| ", "x"),
        ("a.", ""),
        ("a. ", ""),
        ("。", "好"),
        ("好", ""),
        ("…", "x"),
        (", ", ""),
        ("1", ""),
        ("word ", ""),
    ] {
        let hostile = time(&(unit.repeat(size / unit.len()) + tail));
        assert!(
            hostile < ordinary * 10,
            "{unit:?}: {hostile:?}, ordinary text of the same size {ordinary:?}"
        );
    }
}

fn alnum(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn squeeze(s: &str) -> Vec<char> {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether `small` can be had from `big` by dropping characters.
fn is_subsequence(small: &[char], big: &[char]) -> bool {
    let mut big = big.iter();
    small.iter().all(|c| big.any(|b| b == c))
}

fn limits() -> impl Strategy<Value = Limits> {
    (0u32..40, 1u32..300, 1usize..400).prop_map(|(min, max, max_chars)| Limits {
        min,
        max,
        max_chars,
    })
}

/// Words of several scripts and the marks between them.
fn mixed_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        "[你好世界中文我们]{1,6}",
        "[こんにちはカタナ]{1,5}",
        "[ạởđưôêàá]{1,4}",
        "[.!?。！？，,…、\"()「」】]{1,3}",
    ];
    let sep = prop_oneof![Just(" "), Just("\n"), Just(""), Just("  ")];
    proptest::collection::vec((word, sep), 0..60)
        .prop_map(|parts| parts.into_iter().map(|(w, s)| w + s).collect())
}

fn sentences(text: &str, cuts: &[usize], rules: &Rules) -> Vec<Sentence> {
    let chars: Vec<char> = text.chars().collect();
    let mut splitter = Splitter::new(rules);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, chars.len());
        out.extend(splitter.push(&chars[start..cut].iter().collect::<String>()));
        start = cut;
    }
    out.extend(splitter.push(&chars[start..].iter().collect::<String>()));
    out.extend(splitter.finish());
    out
}

proptest! {
    #[test]
    fn no_word_is_lost_or_reordered(text in any::<String>(), limits in limits()) {
        let out = cut(&text, limits);
        prop_assert_eq!(alnum(&out.concat()), alnum(&text));
        prop_assert!(is_subsequence(&squeeze(&out.concat()), &squeeze(&text)));
        for s in &out {
            prop_assert!(!s.is_empty() && s.trim() == s, "{:?}", s);
            prop_assert!(s.chars().any(char::is_alphanumeric), "{:?}", s);
        }
    }

    #[test]
    fn mixed_scripts_keep_every_word_within_the_limits(text in mixed_text(), limits in limits()) {
        let out = cut(&text, limits);
        prop_assert_eq!(alnum(&out.concat()), alnum(&text));
        let limits = cutter::Cutter::new(limits).limits();
        for s in &out {
            let mut word = 0;
            let units: u32 = s
                .chars()
                .map(|c| ends::units(c, crate::text::lang::is_letter(c), &mut word))
                .sum();
            prop_assert!(units <= limits.max, "{:?}: {} units", s, units);
            prop_assert!(s.chars().count() <= limits.max_chars, "{:?}", s);
        }
    }

    #[test]
    fn chunking_never_changes_the_sentences(
        text in prop_oneof![mixed_text(), "(\\PC|[-\\[\\]`*_#>|\n (){}!?.。])*"],
        mut cuts in proptest::collection::vec(0usize..120, 0..8),
        limits in limits(),
    ) {
        cuts.sort_unstable();
        let rules = Rules {
            limits,
            languages: Languages { latin: "en".into(), han: "zh".into() },
        };
        prop_assert_eq!(sentences(&text, &cuts, &rules), split(&text, &rules));
    }

    #[test]
    fn pauses_between_chunks_lose_and_reorder_no_word(
        text in prop_oneof![mixed_text(), "(\\PC|[-\\[\\]`*_#>|\n (){}!?.。])*"],
        mut cuts in proptest::collection::vec(0usize..120, 0..8),
        settle in any::<bool>(),
        limits in limits(),
    ) {
        cuts.sort_unstable();
        let rules = Rules {
            limits,
            languages: Languages { latin: "en".into(), han: "zh".into() },
        };
        let chars: Vec<char> = text.chars().collect();
        let mut s = Splitter::new(&rules);
        let mut out = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([chars.len()]) {
            let cut = cut.clamp(start, chars.len());
            out.extend(s.push(&chars[start..cut].iter().collect::<String>()));
            out.extend(if settle { s.settle() } else { s.release() });
            start = cut;
        }
        out.extend(s.finish());
        let said: String = out.iter().map(|s| s.text.as_str()).collect();
        let whole: String = split(&text, &rules).iter().map(|s| s.text.as_str()).collect();
        prop_assert_eq!(alnum(&said), alnum(&whole));
        for s in &out {
            prop_assert!(!s.text.is_empty() && s.text.trim() == s.text, "{:?}", s);
        }
    }
}
