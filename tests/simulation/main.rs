//! A deterministic simulation of the three deciders over a simulated bus.
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
fn run(make: fn() -> World, choices: &[u64]) -> (Vec<Action>, Result<(), String>) {
    let (taken, world) = play(make, choices);
    (taken, world.check())
}

fn play(make: fn() -> World, choices: &[u64]) -> (Vec<Action>, World) {
    let mut world = make();
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
fn shrink(make: fn() -> World, mut choices: Vec<u64>) -> Vec<u64> {
    let mut chunk = choices.len() / 2;
    while chunk >= 1 {
        let mut start = 0;
        while start < choices.len() {
            let end = (start + chunk).min(choices.len());
            let mut candidate = choices.clone();
            candidate.drain(start..end);
            if run(make, &candidate).1.is_err() {
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
        let (taken, world) = play(World::new, &choices);
        actions += taken.len();
        for outcome in world.outcomes() {
            *outcomes.entry(outcome).or_default() += 1;
        }
        for action in &taken {
            *kinds.entry(action.kind()).or_default() += 1;
        }
        if let Err(violation) = world.check() {
            let shrunk = shrink(World::new, choices);
            let (steps, shrunk_outcome) = run(World::new, &shrunk);
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

fn without_refunds() -> World {
    World::new().without_refunds()
}

#[test]
fn the_simulation_catches_a_broken_decider_and_shrinks_the_schedule() {
    // The checker must be able to fail: a payment service that never refunds is caught,
    // and its failing schedule shrinks to the few steps that matter.
    let failing = (0..200)
        .map(|seed| schedule(seed, SCHEDULE_LENGTH))
        .find(|choices| run(without_refunds, choices).1.is_err())
        .expect("a payment service that never refunds went unnoticed");
    let (steps, _) = run(without_refunds, &failing);
    let shrunk = shrink(without_refunds, failing);
    let (shrunk_steps, outcome) = run(without_refunds, &shrunk);
    assert!(outcome.is_err(), "the shrunk schedule still fails");
    assert!(
        shrunk_steps.len() < steps.len() && shrunk_steps.len() <= 10,
        "shrunk from {} to {} steps: {shrunk_steps:?}",
        steps.len(),
        shrunk_steps.len()
    );
}
