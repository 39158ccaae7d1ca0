//! Smoke test: each real part of the infrastructure answers, and the workspace's own
//! clients speak to it. Run by `scripts/test` with `--nocapture`, so its log shows
//! what it talked to.

mod jaeger;
mod kafka;
mod postgres;
mod sagactl;
mod services;
