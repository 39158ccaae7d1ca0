//! The participants: a customer's account and a SKU's stock, one Virtual Object each, so
//! Restate runs at most one charge/refund per customer and one reserve/release per SKU
//! at a time. A refusal is a `TerminalError`, which the saga (`order.place`) catches and
//! compensates, as Restate's saga guide does.
//!
//! Seeding: an object starts empty, so its opening value is derived from its key on
//! first use (the load data of the contract) and stored on its first change.

use restate_sdk::prelude::*;

const BALANCE: &str = "balance";
const AVAILABLE: &str = "available";

/// `NNN` of `PREFIX` + `NNN` for 000..=099.
fn load_index(key: &str, prefix: &str) -> Option<u32> {
    let n = key.strip_prefix(prefix)?;
    (n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
        .filter(|&n| n < 100)
}

/// `load-c-000`..`099` hold 1,000,000,000 cents; every other customer (`load-c-declined-*`,
/// unknown ones) has no account, so each of its charges is declined.
pub fn opening_balance(customer: &str) -> Option<i64> {
    load_index(customer, "load-c-").map(|_| 1_000_000_000)
}

/// `load-sku-000`..`099` hold 10,000,000 units; `load-sku-empty-*` and unknown SKUs none.
pub fn opening_stock(sku: &str) -> i64 {
    load_index(sku, "load-sku-").map_or(0, |_| 10_000_000)
}

pub struct Account;

#[restate_sdk::object(name = "account")]
impl Account {
    /// Takes `amount` cents, or fails terminally (`payment_declined`).
    #[handler]
    async fn charge(&self, ctx: ObjectContext<'_>, amount: i64) -> HandlerResult<i64> {
        match ctx
            .get::<i64>(BALANCE)
            .await?
            .or_else(|| opening_balance(ctx.key()))
        {
            Some(balance) if balance >= amount => {
                ctx.set(BALANCE, balance - amount);
                Ok(balance - amount)
            }
            _ => Err(TerminalError::new_with_code(402, "payment_declined").into()),
        }
    }

    /// Gives back `amount` cents of an earlier charge.
    #[handler]
    async fn refund(&self, ctx: ObjectContext<'_>, amount: i64) -> HandlerResult<i64> {
        let balance = ctx
            .get::<i64>(BALANCE)
            .await?
            .or_else(|| opening_balance(ctx.key()));
        let balance = balance.unwrap_or(0);
        ctx.set(BALANCE, balance + amount);
        Ok(balance + amount)
    }

    /// The balance in cents (null: no account, every charge is declined). Read-only, so
    /// it runs beside the exclusive handlers.
    #[handler]
    async fn balance(&self, ctx: SharedObjectContext<'_>) -> HandlerResult<Json<Option<i64>>> {
        Ok(Json(
            ctx.get::<i64>(BALANCE)
                .await?
                .or_else(|| opening_balance(ctx.key())),
        ))
    }
}

pub struct Stock;

#[restate_sdk::object(name = "stock")]
impl Stock {
    /// Sets `quantity` units aside, or fails terminally (`out_of_stock`).
    #[handler]
    async fn reserve(&self, ctx: ObjectContext<'_>, quantity: i64) -> HandlerResult<i64> {
        let available = ctx
            .get::<i64>(AVAILABLE)
            .await?
            .unwrap_or_else(|| opening_stock(ctx.key()));
        if available < quantity {
            return Err(TerminalError::new_with_code(409, "out_of_stock").into());
        }
        ctx.set(AVAILABLE, available - quantity);
        Ok(available - quantity)
    }

    /// Puts back `quantity` units of an earlier reservation.
    #[handler]
    async fn release(&self, ctx: ObjectContext<'_>, quantity: i64) -> HandlerResult<i64> {
        let available = ctx
            .get::<i64>(AVAILABLE)
            .await?
            .unwrap_or_else(|| opening_stock(ctx.key()));
        ctx.set(AVAILABLE, available + quantity);
        Ok(available + quantity)
    }

    /// Units available (read-only).
    #[handler]
    async fn available(&self, ctx: SharedObjectContext<'_>) -> HandlerResult<i64> {
        Ok(ctx
            .get::<i64>(AVAILABLE)
            .await?
            .unwrap_or_else(|| opening_stock(ctx.key())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_data_is_derived_from_the_key() {
        assert_eq!(opening_balance("load-c-000"), Some(1_000_000_000));
        assert_eq!(opening_balance("load-c-099"), Some(1_000_000_000));
        assert_eq!(opening_balance("load-c-100"), None);
        assert_eq!(opening_balance("load-c-declined-3"), None);
        assert_eq!(opening_balance("alice"), None);
        assert_eq!(opening_stock("load-sku-042"), 10_000_000);
        assert_eq!(opening_stock("load-sku-empty-0"), 0);
        assert_eq!(opening_stock("load-sku-1"), 0);
        assert_eq!(opening_stock("nope"), 0);
    }
}
