//! lockdiag: what is wrong with locks on a MySQL or MariaDB server.
//!
//! Data flows one way (README "Layout"; `tests/layers.rs` holds the imports to it):
//! a [`source`] (one [`source::server::Server`] handle per server, status texts,
//! error logs, snapshots) builds the [`model`], [`parse`] turns text into it,
//! [`analyze`] computes graphs, diagnoses and the views, and [`render`] prints
//! them; [`act`] runs the procedures that span time (kill, record, the duplicate
//! scan) and [`cli`] wires it all to the command line.

pub mod act;
pub mod analyze;
pub mod cli;
pub mod model;
pub mod parse;
pub mod render;
pub mod source;
