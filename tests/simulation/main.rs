//! A deterministic simulation of the three deciders over a simulated bus (issue 5).
//!
//! Each run is a schedule of choices drawn from a seed: which consumer gets its next
//! message, with what fault (a crash after the effect and before the offset commit, so
//! the message comes again; a dead letter that is replayed later, after newer events
//! for its key); duplicate publishes; new orders, customer cancels, ships and deadlines.
//! Within a topic, messages keep their order (one partition per topic). After the
//! schedule, everything drains to quiescence and every invariant of DESIGN.md §1 is
//! checked. A failure prints its seed and a shrunk schedule.

mod model;

use model::{Action, World};

/// A small, fast, good-enough generator (SplitMix64): the simulation needs
/// reproducibility from a seed, not cryptographic quality.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn schedule(seed: u64, length: usize) -> Vec<u64> {
    let mut rng = SplitMix(seed);
    (0..length).map(|_| rng.next()).collect()
}

/// Runs a schedule; returns the actions taken and the first broken invariant, if any.
fn run(choices: &[u64]) -> (Vec<Action>, Result<(), String>) {
    let (taken, world) = play(choices);
    (taken, world.check())
}

fn play(choices: &[u64]) -> (Vec<Action>, World) {
    let mut world = World::new();
    let mut taken = Vec::with_capacity(choices.len());
    for choice in choices {
        if let Some(action) = world.step(*choice) {
            taken.push(action);
        }
    }
    world.drain();
    (taken, world)
}

/// Removes chunks of the schedule while it still fails, then single choices.
fn shrink(mut choices: Vec<u64>) -> Vec<u64> {
    let mut chunk = choices.len() / 2;
    while chunk >= 1 {
        let mut start = 0;
        while start < choices.len() {
            let end = (start + chunk).min(choices.len());
            let mut candidate = choices.clone();
            candidate.drain(start..end);
            if run(&candidate).1.is_err() {
                choices = candidate;
            } else {
                start += chunk;
            }
        }
        chunk /= 2;
    }
    choices
}

const SCHEDULES: u64 = 10_000;
const SCHEDULE_LENGTH: usize = 120;

#[test]
fn every_invariant_holds_over_ten_thousand_seeded_schedules() {
    let base: u64 = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5A6A);
    let count: u64 = std::env::var("SIM_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SCHEDULES);
    let mut actions = 0;
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    let mut kinds: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for n in 0..count {
        let seed = base.wrapping_add(n);
        let choices = schedule(seed, SCHEDULE_LENGTH);
        let (taken, world) = play(&choices);
        actions += taken.len();
        for outcome in world.outcomes() {
            *outcomes.entry(outcome).or_default() += 1;
        }
        for action in &taken {
            *kinds.entry(action.kind()).or_default() += 1;
        }
        if let Err(violation) = world.check() {
            let shrunk = shrink(choices);
            let (steps, shrunk_outcome) = run(&shrunk);
            let listing: Vec<String> = steps.iter().map(|a| format!("  {a:?}")).collect();
            panic!(
                "seed {seed} breaks an invariant: {violation}\n\
                 shrunk to {} steps ({}), replay with SIM_SEED={seed} SIM_SCHEDULES=1:\n{}",
                steps.len(),
                shrunk_outcome.err().unwrap_or_default(),
                listing.join("\n")
            );
        }
    }
    eprintln!("simulation: {count} schedules, {actions} actions, every invariant held");
    eprintln!("simulation: outcomes {outcomes:?}");
    eprintln!("simulation: actions {kinds:?}");
    if count >= 1_000 {
        // Coverage: a run that never reaches an outcome or a fault proves nothing about it.
        for outcome in [
            "Confirmed",
            "Shipped",
            "cancelled_PaymentDeclined",
            "cancelled_OutOfStock",
            "cancelled_Customer",
            "cancelled_Deadline",
        ] {
            assert!(
                outcomes.get(outcome).is_some_and(|n| *n > 0),
                "no run ended {outcome}"
            );
        }
        for kind in [
            "deliver",
            "crash-before-commit",
            "dead-letter",
            "replay",
            "duplicate-publish",
            "cancel",
            "ship",
            "expire",
        ] {
            assert!(
                kinds.get(kind).is_some_and(|n| *n > 0),
                "no run took a {kind}"
            );
        }
    }
}

#[test]
fn the_simulation_catches_a_broken_decider() {
    // The checker must be able to fail: a world that forgets to refund is caught.
    let mut failures = 0;
    for seed in 0..200 {
        let mut world = World::new().without_refunds();
        for choice in schedule(seed, SCHEDULE_LENGTH) {
            world.step(choice);
        }
        world.drain();
        failures += usize::from(world.check().is_err());
    }
    assert!(
        failures > 0,
        "a payment service that never refunds went unnoticed"
    );
}
