//! What the load sends: the outcome mix, spread evenly over the orders, and each
//! order's body over the load customers and SKUs of DESIGN.md §4.

use anyhow::Context as _;
use serde_json::json;

/// The outcome an order of the load is made to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Kind {
    Happy,
    Declined,
    OutOfStock,
    /// Placed, then cancelled by its customer.
    Cancel,
}

pub(super) fn parse_mix(text: &str) -> anyhow::Result<Vec<(Kind, u32)>> {
    let mut mix = Vec::new();
    for part in text.split(',') {
        let (name, weight) = part.split_once('=').context("the mix is name=weight,...")?;
        let kind = match name.trim() {
            "happy" => Kind::Happy,
            "declined" => Kind::Declined,
            "out_of_stock" => Kind::OutOfStock,
            "cancel" => Kind::Cancel,
            other => {
                anyhow::bail!("unknown outcome {other:?} (happy, declined, out_of_stock, cancel)")
            }
        };
        mix.push((kind, weight.trim().parse()?));
    }
    anyhow::ensure!(
        mix.iter().map(|(_, w)| w).sum::<u32>() > 0,
        "the mix has no weight"
    );
    Ok(mix)
}

/// The n-th order of the mix, spread evenly (a deterministic weighted round robin).
pub(super) fn kind_of(mix: &[(Kind, u32)], n: usize) -> Kind {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    // In u128, so no count of orders overflows; the same slots as ever below 542,353.
    let mut slot = (n as u128 * 7919 % u128::from(total)) as u32;
    for (kind, weight) in mix {
        if slot < *weight {
            return *kind;
        }
        slot -= weight;
    }
    mix[0].0
}

pub(super) fn body(kind: Kind, n: usize) -> serde_json::Value {
    let (customer, sku) = match kind {
        Kind::Happy | Kind::Cancel => (
            format!("load-c-{:03}", n % 100),
            format!("load-sku-{:03}", (n / 100) % 100),
        ),
        Kind::Declined => (
            format!("load-c-declined-{}", n % 10),
            format!("load-sku-{:03}", n % 100),
        ),
        Kind::OutOfStock => (
            format!("load-c-{:03}", n % 100),
            format!("load-sku-empty-{}", n % 10),
        ),
    };
    json!({"customer_id": customer, "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 100}], "currency": "EUR"})
}

/// Whether `outcome` ends a saga of `kind`: an order its customer cancels may be
/// confirmed first, and ends only with its cancellation.
pub(super) fn ends(kind: Kind, outcome: &str) -> bool {
    kind != Kind::Cancel || outcome.starts_with("cancelled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_spreads_its_weights_exactly() {
        let mix = parse_mix("happy=70,declined=10,out_of_stock=10,cancel=10").unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for n in 0..1000 {
            *counts.entry(kind_of(&mix, n)).or_insert(0) += 1;
        }
        assert_eq!(counts[&Kind::Happy], 700);
        assert_eq!(counts[&Kind::Declined], 100);
        assert_eq!(counts[&Kind::OutOfStock], 100);
        assert_eq!(counts[&Kind::Cancel], 100);
    }

    #[test]
    fn the_mix_goes_on_past_half_a_million_orders() {
        let mix = parse_mix("happy=70,declined=10,out_of_stock=10,cancel=10").unwrap();
        for n in [542_352, 542_353, 10_000_000, usize::MAX] {
            let _ = kind_of(&mix, n);
        }
        assert_eq!(kind_of(&mix, 1_000_000), kind_of(&mix, 1_000_000));
    }

    #[test]
    fn a_cancelled_order_ends_only_with_its_cancellation() {
        assert!(!ends(Kind::Cancel, "confirmed"));
        assert!(ends(Kind::Cancel, "cancelled_customer"));
        assert!(ends(Kind::Happy, "confirmed"));
        assert!(parse_mix("happy=0").is_err());
        assert!(parse_mix("sad=1").is_err());
    }
}
