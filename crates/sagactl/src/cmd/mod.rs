pub(crate) mod pending;
pub(crate) mod topics;
