//! Who may do what over HTTP (docs/security.md): bearer tokens and the two roles.
//!
//! With no public key configured, auth is off and every request is [`Principal::Trusted`],
//! as on a developer's loopback; with keys, every route but the probes and `/metrics`
//! needs a valid token ([`crate::http::authenticate`]), and each handler asks the
//! principal before it acts ([`Principal::may_act_for`], [`Principal::require_operator`]).
//! The rules are pure, here; the handlers only name the customer a request touches.

mod token;

use std::fmt;

pub use token::{Claims, KeyError, Minter, Role, TokenError, Verifier};

/// Who sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Auth is off: the request may do everything, as before auth existed.
    Trusted,
    /// A customer's token: acts for that customer alone.
    Customer(String),
    /// An operator's token (named by its subject): may read everything, ship and restock.
    Operator(String),
}

/// A request the principal may not make: answered 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(&'static str);

impl Principal {
    /// Acting on `customer`'s behalf: creating their order, reading or cancelling it,
    /// reading their account or payments.
    pub fn may_act_for(&self, customer: &str) -> Result<(), Denied> {
        match self {
            Self::Trusted | Self::Operator(_) => Ok(()),
            Self::Customer(own) if own == customer => Ok(()),
            Self::Customer(_) => Err(Denied("this token acts for another customer")),
        }
    }

    /// Shipping, restocking: an operator's work.
    pub fn require_operator(&self) -> Result<(), Denied> {
        match self {
            Self::Trusted | Self::Operator(_) => Ok(()),
            Self::Customer(_) => Err(Denied("an operator's token is needed")),
        }
    }

    /// The customer whose data alone this principal may see, if it is limited to one.
    pub fn own_customer(&self) -> Option<&str> {
        match self {
            Self::Customer(id) => Some(id),
            Self::Trusted | Self::Operator(_) => None,
        }
    }

    /// An idempotency key in this principal's own space: one customer's key can neither
    /// replay nor block another's request. With auth off, keys stay as they were. The
    /// separator is a control character, which no verified token's subject holds.
    pub fn scope_key(&self, key: &str) -> String {
        match self {
            Self::Trusted => key.to_owned(),
            scoped => format!("{scoped}\u{1f}{key}"),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Trusted => f.write_str("trusted"),
            Self::Customer(id) => write!(f, "customer:{id}"),
            Self::Operator(subject) => write!(f, "operator:{subject}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_acts_for_itself_alone_and_never_as_an_operator() {
        let alice = Principal::Customer("alice".into());
        assert_eq!(alice.may_act_for("alice"), Ok(()));
        assert!(alice.may_act_for("bob").is_err());
        assert!(alice.require_operator().is_err());
        assert_eq!(alice.own_customer(), Some("alice"));
        for anyone in [Principal::Trusted, Principal::Operator("ops".into())] {
            assert_eq!(anyone.may_act_for("bob"), Ok(()));
            assert_eq!(anyone.require_operator(), Ok(()));
            assert_eq!(anyone.own_customer(), None);
        }
    }

    #[test]
    fn idempotency_keys_are_scoped_by_principal_once_auth_is_on() {
        let key = "k-1";
        assert_eq!(Principal::Trusted.scope_key(key), key);
        let alice = Principal::Customer("alice".into()).scope_key(key);
        let bob = Principal::Customer("bob".into()).scope_key(key);
        let ops = Principal::Operator("alice".into()).scope_key(key);
        assert_ne!(alice, bob);
        assert_ne!(alice, ops, "a role is part of the scope");
    }
}
