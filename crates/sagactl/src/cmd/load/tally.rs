//! The load's bookkeeping: when each saga started and ended, and the report over them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use super::mix::{Kind, ends};

#[derive(Default)]
pub(super) struct Tally {
    /// Order id → (kind, when its POST started).
    sent: HashMap<String, (Kind, Instant)>,
    /// Terminal events seen before their POST answered.
    early: HashMap<String, Vec<(Instant, String)>>,
    latencies: Vec<(Kind, Duration, String)>,
    failed_posts: usize,
    first_post: Option<Instant>,
    last_terminal: Option<Instant>,
}

impl Tally {
    pub(super) fn started(&mut self, at: Instant) {
        self.first_post.get_or_insert(at);
    }

    pub(super) fn failed_post(&mut self) {
        self.failed_posts += 1;
    }

    /// Sagas finished so far, and sagas whose POST answered that have not.
    pub(super) fn progress(&self) -> (usize, usize) {
        (self.latencies.len(), self.sent.len())
    }

    /// A saga ended, as one of its terminal events or answers says.
    pub(super) fn finish(&mut self, order: &str, at: Instant, outcome: String) {
        match self.sent.get(order) {
            Some((kind, started)) if ends(*kind, &outcome) => {
                let (kind, started) = (*kind, *started);
                self.sent.remove(order);
                self.ended(kind, at - started, outcome, at);
            }
            Some(_) => {}
            None => self
                .early
                .entry(order.to_owned())
                .or_default()
                .push((at, outcome)),
        }
    }

    /// The order's POST answered: record it, or finish it if its end came first.
    pub(super) fn sent(&mut self, order: String, kind: Kind, started: Instant) {
        let early = self.early.remove(&order).unwrap_or_default();
        match early.into_iter().find(|(_, outcome)| ends(kind, outcome)) {
            Some((at, outcome)) => self.ended(kind, at - started, outcome, at),
            None => {
                self.sent.insert(order, (kind, started));
            }
        }
    }

    fn ended(&mut self, kind: Kind, latency: Duration, outcome: String, at: Instant) {
        self.latencies.push((kind, latency, outcome));
        self.last_terminal = Some(at);
    }

    /// Prints the figures (one JSON line, or a table), and fails unless every saga ended.
    pub(super) fn report(&self, sent: usize, as_json: bool) -> anyhow::Result<()> {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for (_, latency, outcome) in &self.latencies {
            histogram.record((latency.as_micros() as u64).max(1))?;
            *outcomes.entry(outcome.clone()).or_default() += 1;
        }
        let completed = self.latencies.len();
        let span = match (self.first_post, self.last_terminal) {
            (Some(first), Some(last)) if last > first => (last - first).as_secs_f64(),
            _ => 0.0,
        };
        let per_s = if span > 0.0 {
            completed as f64 / span
        } else {
            0.0
        };
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        if as_json {
            println!(
                "{}",
                json!({
                    "completed": completed,
                    "sagas_per_s": (per_s * 10.0).round() / 10.0,
                    "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99),
                    "max_ms": histogram.max() as f64 / 1000.0,
                    "outcomes": outcomes,
                    "sent": sent, "unfinished": self.sent.len(), "failed_posts": self.failed_posts,
                })
            );
        } else {
            println!(
                "sent {sent}, completed {completed}, unfinished {}, failed POSTs {}",
                self.sent.len(),
                self.failed_posts
            );
            println!("throughput: {per_s:.1} sagas/s");
            println!(
                "latency (POST to terminal event): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                ms(0.50),
                ms(0.95),
                ms(0.99),
                histogram.max() as f64 / 1000.0
            );
            for (outcome, n) in &outcomes {
                println!("  {outcome:<28} {n}");
            }
        }
        anyhow::ensure!(
            self.sent.is_empty() && self.failed_posts == 0,
            "not every saga finished"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_seen_before_its_post_answered_still_counts_from_the_post() {
        let mut tally = Tally::default();
        let start = Instant::now();
        let end = start + Duration::from_millis(30);
        tally.finish("o1", end, "confirmed".to_owned());
        assert_eq!(tally.progress(), (0, 0));
        tally.sent("o1".to_owned(), Kind::Happy, start);
        assert_eq!(tally.progress(), (1, 0));
        assert_eq!(tally.latencies[0].1, Duration::from_millis(30));
    }

    #[test]
    fn a_cancelled_order_is_open_until_its_cancellation() {
        let mut tally = Tally::default();
        let start = Instant::now();
        tally.sent("o2".to_owned(), Kind::Cancel, start);
        tally.finish(
            "o2",
            start + Duration::from_millis(5),
            "confirmed".to_owned(),
        );
        assert_eq!(tally.progress(), (0, 1));
        tally.finish(
            "o2",
            start + Duration::from_millis(9),
            "cancelled_customer".to_owned(),
        );
        assert_eq!(tally.progress(), (1, 0));
    }
}
