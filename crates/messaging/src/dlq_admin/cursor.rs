//! The settle cursor of one DLQ partition: the committed offset of the tools' group,
//! below which every letter is settled, and the sparse set of settled offsets above it,
//! kept in that commit's metadata.
//!
//! The metadata is bounded: Kafka refuses commit metadata past `offset.metadata.max.bytes`
//! (4 KiB by default), so a settlement that would not fit is refused before anything is
//! done, with the oldest unsettled letter named: settling it lets the cursor advance.

use std::collections::BTreeSet;

/// Legacy metadata: absolute offsets, `settled:5,7,9`.
const LEGACY_PREFIX: &str = "settled:";
/// Offsets relative to the cursor, runs collapsed: `settled+:2,4-9` (cursor + 2, ...).
const PREFIX: &str = "settled+:";
/// Kafka's default `offset.metadata.max.bytes`.
pub(super) const METADATA_MAX_BYTES: usize = 4096;

/// Where settling stands on one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) offset: i64,
    pub(super) settled: BTreeSet<i64>,
}

/// A settlement the cursor's metadata has no room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Full {
    pub(super) oldest_unsettled: i64,
    pub(super) settled_ahead: usize,
}

impl Cursor {
    /// Reads a committed offset and its metadata; metadata it does not understand is
    /// read as nothing settled past the offset, which errs on the safe side.
    pub(super) fn parse(offset: i64, metadata: &str) -> Self {
        let settled = if let Some(list) = metadata.strip_prefix(PREFIX) {
            list.split(',')
                .filter_map(|run| relative_run(offset, run))
                .flatten()
                .collect()
        } else if let Some(list) = metadata.strip_prefix(LEGACY_PREFIX) {
            list.split(',').filter_map(|o| o.parse().ok()).collect()
        } else {
            BTreeSet::new()
        };
        let mut cursor = Self { offset, settled };
        cursor.advance();
        cursor
    }

    pub(super) fn is_settled(&self, offset: i64) -> bool {
        offset < self.offset || self.settled.contains(&offset)
    }

    /// Settled offsets in `start..end`.
    pub(super) fn settled_in(&self, start: i64, end: i64) -> usize {
        if start >= end {
            return 0;
        }
        self.settled.range(start..end).count()
    }

    /// Letters below the log start offset are gone (retention): nothing to settle there.
    pub(super) fn skip_to(&mut self, low: i64) {
        if low > self.offset {
            self.offset = low;
            self.advance();
        }
    }

    /// The cursor with `offset` settled too, or `Full` if its metadata would not fit.
    pub(super) fn with_settled(&self, offset: i64) -> Result<Self, Full> {
        let mut next = self.clone();
        if offset >= next.offset {
            next.settled.insert(offset);
            next.advance();
        }
        if next.metadata().len() > METADATA_MAX_BYTES {
            return Err(Full {
                oldest_unsettled: self.offset,
                settled_ahead: self.settled.len(),
            });
        }
        Ok(next)
    }

    /// Moves the cursor over the contiguous run of settled offsets at it, and forgets
    /// settled offsets it passed.
    fn advance(&mut self) {
        self.settled = self.settled.split_off(&self.offset);
        while self.settled.remove(&self.offset) {
            self.offset += 1;
        }
    }

    pub(super) fn metadata(&self) -> String {
        let mut runs: Vec<String> = Vec::new();
        let mut settled = self.settled.iter().map(|o| o - self.offset).peekable();
        while let Some(first) = settled.next() {
            let mut last = first;
            while settled.peek() == Some(&(last + 1)) {
                last += 1;
                settled.next();
            }
            runs.push(if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            });
        }
        format!("{PREFIX}{}", runs.join(","))
    }
}

/// The absolute offsets of one `d` or `d-e` run; nothing for a malformed one.
fn relative_run(base: i64, run: &str) -> Option<std::ops::RangeInclusive<i64>> {
    let parse = |d: &str| d.parse::<i64>().ok().filter(|d| *d > 0);
    let bounds = match run.split_once('-') {
        Some((first, last)) => parse(first).zip(parse(last)),
        None => parse(run).map(|d| (d, d)),
    };
    match bounds {
        // A run past what a 4 KiB metadata could name is corrupt: ignore it.
        Some((first, last)) if last >= first && last - first < 1 << 20 => {
            Some(base + first..=base + last)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(cursor: &mut Cursor, offset: i64) {
        *cursor = cursor.with_settled(offset).unwrap();
    }

    #[test]
    fn the_cursor_advances_only_over_a_contiguous_run_of_settled_offsets() {
        let mut cursor = Cursor::default();
        settle(&mut cursor, 2);
        settle(&mut cursor, 1);
        assert_eq!(cursor.offset, 0);
        assert!(cursor.is_settled(1) && cursor.is_settled(2) && !cursor.is_settled(0));
        settle(&mut cursor, 0);
        assert_eq!(cursor.offset, 3);
        assert!(cursor.settled.is_empty());
    }

    #[test]
    fn settled_offsets_survive_the_commit_metadata_as_runs() {
        let mut cursor = Cursor::parse(5, "");
        for offset in [7, 9, 10, 11, 12, 20] {
            settle(&mut cursor, offset);
        }
        assert_eq!(cursor.metadata(), "settled+:2,4-7,15");
        let back = Cursor::parse(cursor.offset, &cursor.metadata());
        assert_eq!(back, cursor);
        assert!(back.is_settled(4) && back.is_settled(7) && !back.is_settled(8));
    }

    #[test]
    fn the_legacy_absolute_metadata_is_still_read() {
        let cursor = Cursor::parse(5, "settled:3,5,7");
        assert_eq!(cursor.offset, 6, "5 was settled: the cursor moves over it");
        assert_eq!(cursor.settled, BTreeSet::from([7]));
    }

    #[test]
    fn corrupt_metadata_settles_nothing() {
        for metadata in [
            "settled+:0",
            "settled+:-3",
            "settled+:9-2",
            "settled+:x",
            "junk",
        ] {
            assert_eq!(
                Cursor::parse(5, metadata),
                Cursor::parse(5, ""),
                "{metadata}"
            );
        }
    }

    #[test]
    fn a_settlement_past_the_metadata_limit_is_refused_and_changes_nothing() {
        let mut cursor = Cursor::parse(100, "");
        let mut refused = None;
        for offset in (101..20_000).step_by(2) {
            match cursor.with_settled(offset) {
                Ok(next) => cursor = next,
                Err(full) => {
                    refused = Some(full);
                    break;
                }
            }
        }
        let full = refused.expect("scattered settlements fill the metadata");
        assert_eq!(full.oldest_unsettled, 100);
        assert!(cursor.metadata().len() <= METADATA_MAX_BYTES);
        // Contiguous settlements always fit: they move the cursor instead.
        let mut offset = 100;
        while cursor.offset < 5000 {
            cursor = cursor.with_settled(offset).expect("a gap always fits");
            offset += 1;
        }
    }

    #[test]
    fn letters_lost_to_retention_move_the_cursor() {
        let mut cursor = Cursor::parse(3, "settled+:1,3");
        cursor.skip_to(8);
        assert_eq!((cursor.offset, cursor.settled.len()), (8, 0));
        cursor.skip_to(2);
        assert_eq!(cursor.offset, 8);
    }
}
