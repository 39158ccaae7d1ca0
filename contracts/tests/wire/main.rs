//! The wire format as other services and older builds see it.

mod fixtures;
mod roundtrip;
mod topics_file;
