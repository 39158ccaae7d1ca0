//! Untrusted text made safe to print: whatever came from a message (headers, keys,
//! bodies) can hold terminal escape sequences that retitle the window, clear the screen
//! or hide text, and bidirectional overrides that make text read other than it is.

/// `text` on one line, every control character, C1 control and bidi control escaped
/// (`\x1b`, `\u{202e}`), and a backslash doubled so an escape cannot be forged.
pub(crate) fn line(text: &str) -> String {
    escape(text, false)
}

/// Like [`line`], but newlines and tabs stay: for a body shown on lines of its own.
pub(crate) fn lines(text: &str) -> String {
    escape(text, true)
}

/// At most `max` characters of `text`, cut between characters, `…` where it was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn escape(text: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Marks, embeddings, overrides and isolates (Unicode's `Bidi_Control`), plus the line
/// and paragraph separators, which a terminal may take for a line break.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_c1_and_bidi_overrides_are_escaped_and_text_is_kept() {
        assert_eq!(line("a\u{1b}[31mb"), "a\\x1b[31mb");
        assert_eq!(line("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(line("x\u{202e}cod.exe"), "x\\u{202e}cod.exe");
        assert_eq!(line("a\r\nb\t\u{7f}"), "a\\x0d\\x0ab\\x09\\x7f");
        assert_eq!(line("注文 ünïcode"), "注文 ünïcode");
        assert_eq!(
            line("\\x1b"),
            "\\\\x1b",
            "a literal backslash cannot pose as an escape"
        );
        assert_eq!(lines("{\n\t\"a\": 1\r}"), "{\n\t\"a\": 1\\x0d}");
    }

    #[test]
    fn a_cut_falls_between_characters() {
        assert_eq!(cut("注文が作成されました", 3), "注文が…");
        assert_eq!(cut("short", 80), "short");
        assert_eq!(cut("exact", 5), "exact");
    }
}
