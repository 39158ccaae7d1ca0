pub(crate) mod bench;
pub(crate) mod dlq;
pub(crate) mod inject;
pub(crate) mod order;
pub(crate) mod outbox;
pub(crate) mod pending;
pub(crate) mod topics;
pub(crate) mod verify;
