//! Whether a reply ends with a question, in the languages the box is used in: a question mark
//! (`?`, `？`, `؟`) in the final run of punctuation, or a question particle as the last word
//! (Chinese 吗/呢, Japanese か, Vietnamese không/chưa), whatever decoration (quotes, brackets,
//! emoji, markdown) follows.

/// Marks that end a sentence; a question mark among the last of them makes it a question.
const TERMINATORS: &[char] = &['.', '!', '?', '。', '！', '？', '…', '؟', '‼', '⁉', '⁈'];
const QUESTION_MARKS: &[char] = &['?', '？', '؟', '⁉', '⁈'];
/// Particles that make a sentence a question when they end it, even without a question mark
/// (speech models and STT often drop it). Single characters for the languages without spaces.
const PARTICLES: &[char] = &['吗', '嗎', '呢', '么', '麼', 'か'];
/// Words that do the same in languages with spaces, compared in lower case.
const WORDS: &[&str] = &["không", "chưa"];

/// Whether `text` ends with a question.
pub fn asks(text: &str) -> bool {
    // Decoration after the last sentence: whitespace, quotes, brackets, emoji, markdown.
    let text = text.trim_end_matches(|c: char| !c.is_alphanumeric() && !TERMINATORS.contains(&c));
    let body = text.trim_end_matches(TERMINATORS);
    if text[body.len()..].contains(QUESTION_MARKS) {
        return true;
    }
    let body = body.trim_end();
    if body.ends_with(PARTICLES) {
        return true;
    }
    let last = body
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase();
    WORDS.contains(&last.as_str())
}

#[cfg(test)]
mod tests {
    use super::asks;

    #[test]
    fn questions_and_statements() {
        for (text, want) in [
            ("Paris is the capital. Would you like to know more?", true),
            ("Would you like to know more? ", true),
            ("Want another one?\n", true),
            ("Really?!", true),
            ("Did you mean \"Paris?\"", true),
            ("Shall I go on? 😊", true),
            ("Shall I go on?**", true),
            ("(Any other questions?)", true),
            ("你还想知道什么？", true),
            ("你想听一个故事吗", true),
            ("你想听一个故事吗。", true),
            ("那你呢", true),
            ("お元気ですか", true),
            ("お元気ですか。", true),
            ("Bạn có muốn nghe thêm không", true),
            ("Bạn có muốn nghe thêm Không.", true),
            ("Bạn ăn cơm chưa", true),
            ("¿Quieres saber más?", true),
            ("هل تريد المزيد؟", true),
            // Statements never reopen the microphone.
            ("Paris is the capital of France.", false),
            ("What a question! It is Paris.", false),
            ("Paris? Yes. It is the capital.", false),
            ("It is noon", false),
            ("巴黎是法国的首都。", false),
            ("Tôi không biết.", false),
            ("khôngkhí is air.", false),
            ("", false),
            ("   \n", false),
            ("?", true),
            ("😊", false),
        ] {
            assert_eq!(asks(text), want, "{text:?}");
        }
    }
}
