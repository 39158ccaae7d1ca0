//! The wire format as other services and older builds see it.

mod acls_file;
mod asyncapi;
mod fixtures;
mod roundtrip;
mod topics_file;
