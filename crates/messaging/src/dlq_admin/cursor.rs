//! The settle cursor of one DLQ partition: the committed offset of the tools' group, and
//! the settled offsets past it, kept in that commit's metadata.

use std::collections::BTreeSet;

const SETTLED_PREFIX: &str = "settled:";

/// Where settling stands on one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) offset: i64,
    pub(super) settled: BTreeSet<i64>,
}

impl Cursor {
    pub(super) fn parse(offset: i64, metadata: &str) -> Self {
        let settled = metadata
            .strip_prefix(SETTLED_PREFIX)
            .map(|list| {
                list.split(',')
                    .filter_map(|o| o.parse().ok())
                    .filter(|o| *o >= offset)
                    .collect()
            })
            .unwrap_or_default();
        Self { offset, settled }
    }

    pub(super) fn is_settled(&self, offset: i64) -> bool {
        offset < self.offset || self.settled.contains(&offset)
    }

    /// Marks `offset` settled and moves the cursor over the contiguous run.
    pub(super) fn settle(&mut self, offset: i64) {
        if offset >= self.offset {
            self.settled.insert(offset);
        }
        while self.settled.remove(&self.offset) {
            self.offset += 1;
        }
    }

    pub(super) fn metadata(&self) -> String {
        let list: Vec<String> = self.settled.iter().map(i64::to_string).collect();
        format!("{SETTLED_PREFIX}{}", list.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_advances_only_over_a_contiguous_run_of_settled_offsets() {
        let mut cursor = Cursor::default();
        cursor.settle(2);
        cursor.settle(1);
        assert_eq!(cursor.offset, 0);
        assert!(cursor.is_settled(1) && cursor.is_settled(2) && !cursor.is_settled(0));
        cursor.settle(0);
        assert_eq!(cursor.offset, 3);
        assert!(cursor.settled.is_empty());
    }

    #[test]
    fn settled_offsets_survive_the_commit_metadata() {
        let mut cursor = Cursor::parse(5, "");
        cursor.settle(7);
        cursor.settle(9);
        let back = Cursor::parse(cursor.offset, &cursor.metadata());
        assert_eq!(back, cursor);
        assert!(back.is_settled(4) && back.is_settled(7) && !back.is_settled(8));
    }
}
