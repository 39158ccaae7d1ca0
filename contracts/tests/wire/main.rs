//! The wire format as other services and older builds see it.

mod asyncapi;
mod fixtures;
mod roundtrip;
mod topics_file;
