//! The rule for the free-text identifiers the services take from clients: customer ids
//! and SKUs (DESIGN.md §4), in paths and in bodies alike.

/// The longest identifier, in characters.
pub const MAX_ID_CHARS: usize = 100;

/// What a refused identifier is told.
pub const ID_RULE: &str = "must be 1 to 100 characters, none of them a control character";

/// 1 to [`MAX_ID_CHARS`] characters and no control character: a NUL could not even be
/// stored (PostgreSQL's text and jsonb refuse it), and the others have no business in
/// an id that ends up in logs and headers.
pub fn is_valid_id(text: &str) -> bool {
    is_short_printable(text, MAX_ID_CHARS)
}

/// 1 to `max` characters, none of them a control character: the rule for every short
/// free text a client gives (ids, tracking numbers).
pub fn is_short_printable(text: &str, max: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_printable_and_not_empty() {
        assert!(is_valid_id("sku-widget"));
        assert!(is_valid_id("kunde-ä-東京"));
        assert!(is_valid_id(&"x".repeat(MAX_ID_CHARS)));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"x".repeat(MAX_ID_CHARS + 1)));
        assert!(!is_valid_id("a\u{0}b"));
        assert!(!is_valid_id("line\nbreak"));
        assert!(
            ID_RULE.contains(&MAX_ID_CHARS.to_string()),
            "the rule names the bound"
        );
    }
}
