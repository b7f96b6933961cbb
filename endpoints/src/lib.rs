//! The HTTP endpoints every Sluice process serves — `/metrics`, `/healthz`, `/readyz` — over
//! plain HTTP/1 with hyper: one server for the operator and the executor, each bringing its own
//! [`Endpoints`] (what to answer on which path).
//!
//! Like mini-redis's `server::run`, [`serve`] takes its listener and a shutdown signal, so tests
//! bind `127.0.0.1:0`. A failed `accept` (EMFILE, ENFILE, ENOBUFS, ...) fails again at once
//! until its cause is gone, so the loop pauses with an exponential backoff instead of spinning
//! on a core ([`accept_loop`]).

mod accept;
mod reply;
mod server;

pub use accept::accept_loop;
pub use reply::{OPENMETRICS, Reply};
pub use server::{Endpoints, serve};
